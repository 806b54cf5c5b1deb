package wxpay_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// countingTransport counts the requests a client sends.
type countingTransport struct {
	rt http.RoundTripper
	n  atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// TestListIteratorAgainstTheEmulator pages through the merchant's card
// templates (a list whose offset is a page index) and stops on the first error.
func TestListIteratorAgainstTheEmulator(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	for i := range 4 { // 3 seeded + 4 = 7 templates
		if err := srv.Emulator.AddCard(emulator.Card{ID: fmt.Sprintf("pbLatIterator%015d", i), Family: emulator.MembercardFamily, MchID: emulator.DemoMchID}); err != nil {
			t.Fatal(err)
		}
	}
	ct := &countingTransport{rt: srv.HTTPClient().Transport}
	c := srv.Client(wxpay.WithHTTPClient(&http.Client{Transport: ct}), wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 1}))
	ctx := context.Background()
	cards := c.V3.Marketing.MembercardOpen.Cards

	seen := map[string]bool{}
	for card, err := range cards.All(ctx, &membercardopen.ListCardsRequest{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[card.CardID] {
			t.Fatalf("card %s came twice: the pages overlap", card.CardID)
		}
		seen[card.CardID] = true
	}
	if len(seen) != 7 || ct.n.Load() != 4 {
		t.Errorf("%d cards in %d requests, want 7 in 4 pages of 2", len(seen), ct.n.Load())
	}

	// An error ends the iteration after it is yielded once.
	srv.Emulator.SetFault("ListMembercardCards", emulator.Fault{ErrorRate: 1})
	var errs int
	for card, err := range cards.All(ctx, &membercardopen.ListCardsRequest{Limit: 2}) {
		var ae *wxpay.APIError
		if card != nil || !errors.As(err, &ae) || ae.Code != "SYSTEM_ERROR" {
			t.Fatalf("got %v, %v", card, err)
		}
		errs++
	}
	if errs != 1 {
		t.Errorf("%d errors yielded, want 1", errs)
	}
}
