package core

// Future is the result of an asynchronous call. Wait blocks for it; Done can be
// used in a select. Cancelling the call's context makes the call, and so the
// future, finish with the context's error.
type Future[T any] struct {
	done chan struct{}
	val  T
	resp *Response
	err  error
}

// Go runs call in a new goroutine and returns its future. Every …Async method
// of the API is Go around its synchronous twin.
func Go[T any](call func() (T, *Response, error)) *Future[T] {
	f := &Future[T]{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.val, f.resp, f.err = call()
	}()
	return f
}

// Done is closed when the call has finished.
func (f *Future[T]) Done() <-chan struct{} { return f.done }

// Wait blocks until the call has finished and returns its result.
func (f *Future[T]) Wait() (T, error) {
	<-f.done
	return f.val, f.err
}

// Response returns the raw response once the call has finished (nil before, and
// nil when no HTTP answer was received).
func (f *Future[T]) Response() *Response {
	select {
	case <-f.done:
		return f.resp
	default:
		return nil
	}
}
