package typed

import (
	"context"
	"errors"
	"testing"
)

// list is a paged list of n items served limit at a time, counting the fetches.
type list struct {
	n, limit int
	byPage   bool
	fetches  int
	failAt   int // the fetch that fails (1-based), 0 for none
	lieTotal int64
}

var errFetch = errors.New("fetch failed")

func (l *list) fetch(_ context.Context, offset int64) ([]int, int64, error) {
	l.fetches++
	if l.fetches == l.failAt {
		return nil, 0, errFetch
	}
	from := int(offset)
	if l.byPage {
		from = int(offset) * l.limit
	}
	var out []int
	for i := from; i < l.n && i < from+l.limit; i++ {
		out = append(out, i)
	}
	total := int64(l.n)
	if l.lieTotal != 0 {
		total = l.lieTotal
	}
	return out, total, nil
}

func TestPages(t *testing.T) {
	for _, byPage := range []bool{false, true} {
		for _, n := range []int{0, 1, 2, 3, 7} {
			l := &list{n: n, limit: 2, byPage: byPage}
			var got []int
			for item, err := range Pages(context.Background(), byPage, l.fetch) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, *item)
			}
			if len(got) != n {
				t.Fatalf("byPage %v, %d items: got %v", byPage, n, got)
			}
			for i, v := range got {
				if v != i {
					t.Fatalf("byPage %v: item %d is %d, the pages overlap or skip", byPage, i, v)
				}
			}
			if want := max(1, (n+1)/2); l.fetches != want {
				t.Errorf("byPage %v, %d items: %d fetches, want %d", byPage, n, l.fetches, want)
			}
		}
	}
}

func TestPagesStops(t *testing.T) {
	// The first error is yielded once, then iteration ends.
	l := &list{n: 9, limit: 2, failAt: 2}
	var items, errs int
	for item, err := range Pages(context.Background(), false, l.fetch) {
		if err != nil {
			if item != nil || !errors.Is(err, errFetch) {
				t.Fatalf("item %v, err %v", item, err)
			}
			errs++
			continue
		}
		items++
	}
	if items != 2 || errs != 1 || l.fetches != 2 {
		t.Errorf("items %d errors %d fetches %d, want 2 1 2", items, errs, l.fetches)
	}

	// A consumer that stops early fetches no further page.
	l = &list{n: 9, limit: 2}
	for range Pages(context.Background(), false, l.fetch) {
		break
	}
	if l.fetches != 1 {
		t.Errorf("fetches after break: %d", l.fetches)
	}

	// A cancelled context ends iteration with its error before the next fetch.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l = &list{n: 9, limit: 2}
	var last error
	for _, err := range Pages(ctx, false, l.fetch) {
		cancel()
		last = err
	}
	if !errors.Is(last, context.Canceled) || l.fetches != 1 {
		t.Errorf("after cancel: last err %v, fetches %d", last, l.fetches)
	}

	// A total that promises more than the pages hold cannot loop forever.
	l = &list{n: 3, limit: 2, lieTotal: 1 << 40}
	n := 0
	for _, err := range Pages(context.Background(), false, l.fetch) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 || l.fetches != 3 {
		t.Errorf("lying total: %d items in %d fetches", n, l.fetches)
	}
}
