package wxpay_test

import (
	"context"
	"errors"
	"io"
	"net/url"
	"testing"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
)

// TestLocalErrorsAreNotNetworkErrors covers the class: a request that cannot be
// sent as given — a control character in a header, a path or a query value, a
// header name that is not a token — fails with ErrInvalidRequest before anything
// is sent, is not retried and does not count against the primary domain: the
// next good call still goes to the primary.
func TestLocalErrorsAreNotNetworkErrors(t *testing.T) {
	t.Parallel()
	primary := newTestServer(t, okJSON(`{}`))
	backup := newTestServer(t, okJSON(`{}`))
	c := newClient(t, primary, wxpay.WithBackupURL(backup.URL+testPrefix))
	ctx := context.Background()
	ep := c.Chain("v3/marketing/membercard-open/cards/{card_id}")
	card := wxpay.PathParam("card_id", "pbLatjvWOibDc5-TBnbUk1pD12o0")

	for name, call := range map[string]func() error{
		"CR LF in a header value": func() error {
			_, err := ep.Get(ctx, card, wxpay.Header("X-Trace", "a\r\nInjected: yes"))
			return err
		},
		"NUL in a header value": func() error { _, err := ep.Get(ctx, card, wxpay.Header("X-Trace", "a\x00b")); return err },
		"space in a header name": func() error {
			_, err := ep.Get(ctx, card, wxpay.Header("X Trace", "a"))
			return err
		},
		"colon in a header name": func() error { _, err := ep.Get(ctx, card, wxpay.Header("X:Trace", "a")); return err },
		"LF in a path value": func() error {
			_, err := ep.Get(ctx, wxpay.PathParam("card_id", "pbLat\nGET /other"))
			return err
		},
		"DEL in a path value": func() error { _, err := ep.Get(ctx, wxpay.PathParam("card_id", "a\x7f")); return err },
		"CR in a query value": func() error {
			_, err := ep.Get(ctx, card, wxpay.Query("state", "a\rb"))
			return err
		},
		"control character in a query name": func() error {
			_, err := ep.Get(ctx, card, wxpay.QueryValues(url.Values{"st\x01ate": {"x"}}))
			return err
		},
		"C1 control in a typed query field": func() error {
			_, _, err := c.V3.Marketing.MembercardOpen.User.Cards.Get(ctx, &membercardopen.ListUserCardsRequest{
				OpenID: "obLat\u0085jnx", AppID: "wxea9c30890f48d5ae"})
			return err
		},
		"control character in a typed path parameter": func() error {
			_, _, err := c.V3.Marketing.MembercardOpen.Cards.CardID("pbLat\x1bjv").Get(ctx)
			return err
		},
	} {
		err := call()
		if !errors.Is(err, wxpay.ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
		var te *wxpay.TransportError
		if errors.As(err, &te) {
			t.Errorf("%s: reported as a network failure: %v", name, err)
		}
	}
	primary.mu.Lock()
	sentPrimary := len(primary.seen)
	primary.mu.Unlock()
	backup.mu.Lock()
	sentBackup := len(backup.seen)
	backup.mu.Unlock()
	if sentPrimary+sentBackup != 0 {
		t.Fatalf("%d requests reached the primary and %d the backup; want none", sentPrimary, sentBackup)
	}
	// The domain was not blamed: a good call goes to the primary.
	if _, err := ep.Get(ctx, card, wxpay.Header("X-Trace", "tab\tis fine")); err != nil {
		t.Fatal(err)
	}
	if primary.last().Header.Get("X-Trace") != "tab\tis fine" {
		t.Errorf("the good call did not reach the primary with its header")
	}
	backup.mu.Lock()
	defer backup.mu.Unlock()
	if len(backup.seen) != 0 {
		t.Errorf("the good call went to the backup domain")
	}
}

// TestDownloadStaysOnTheClientsDomain: a download URL elsewhere is refused
// before anything is sent, so the signed request cannot be redirected.
func TestDownloadStaysOnTheClientsDomain(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, okJSON(`{}`))
	c := newClient(t, ts)
	for _, u := range []string{
		"https://evil.example/v3/billdownload/file?token=x",
		ts.URL + "/v3/billdownload/file?token=x", // outside the base path
		ts.URL + testPrefix + "/v2/file?token=x",
		"::not a url",
	} {
		if _, err := c.Download(context.Background(), u, io.Discard); !errors.Is(err, wxpay.ErrInvalidRequest) {
			t.Errorf("Download(%q): err = %v, want ErrInvalidRequest", u, err)
		}
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.seen) != 0 {
		t.Errorf("%d requests were sent", len(ts.seen))
	}
}
