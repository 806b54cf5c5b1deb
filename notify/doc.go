// Package notify receives WeChat Pay notifications (回调通知): it verifies the
// signature with the same key ring as the client, rejects replays and stale
// messages, decrypts the AEAD_AES_256_GCM resource with the APIv3 key, decodes
// it into the typed event models of the spec (MEMBERCARD.*, BRAND_MEMBER_CARD_SP.*),
// and runs your function once per notification id.
//
//	parser, err := notify.New(client.Verifier(), apiV3Key)
//	http.Handle("/wxpay/notify", parser.Handler(func(ctx context.Context, n *notify.Notification) error {
//		switch ev := n.Event.(type) {
//		case *membercardopen.ActivateCardEvent:
//			return activate(ctx, ev.CardID, ev.OpenID)
//		}
//		return nil
//	}))
//
// Frameworks that have already read the body call ParseContext(ctx, header, body)
// instead, which verifies, rejects replays and decrypts, but leaves the
// once-per-id guard to Handler.
//
// # Replays and redeliveries
//
// A replay is the same signed bytes again: rejected with ErrReplayed (401) for
// as long as the message's timestamp passes the verifier's skew check, which
// is as long as its mark is kept. A redelivery is WeChat Pay sending the same
// notification id again, re-signed: while the id is being handled it is
// answered 503 (the first attempt may still fail, and then the redelivery must
// run), once handled it is answered 200 without running the function, and if
// the function failed it runs again.
//
// # Several instances
//
// State lives in a Store. The default, a MemoryStore, is private to one
// Parser: enough for one instance. Instances behind a load balancer share one
// store, for example one Redis through the redisstore module
// (github.com/wxpaykit/wxpay/notify/redisstore, a module of its own so that
// this one needs no Redis client):
//
//	store := redisstore.New(redis.NewClient(&redis.Options{Addr: "redis:6379"}))
//	parser, err := notify.New(client.Verifier(), apiV3Key, notify.WithStore(store))
//
// Every record has a TTL: a replay mark until the message's timestamp plus the
// skew (plus a second), a lease three handler timeouts (15 s, WithLease), a
// handled id two days (WithRetention). When the store cannot be reached the
// handler answers 503 and WeChat Pay delivers again later; the function is
// never run without the guard. What is not guaranteed is exactly-once at the
// edges: if an instance dies after the function succeeded and before the id
// was recorded as handled, the lease expires and a redelivery runs the
// function again (at-least-once). The same happens if the store loses what it
// acknowledged (a Redis without persistence, or with an eviction policy that
// evicts keys with a TTL).
package notify
