package wxpaytest_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/notify"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// Every action of the member's side reaches the merchant's handler, through
// the server's methods.
func TestMemberSide(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	c := srv.Client()
	ctx := context.Background()
	parser, err := notify.New(srv.Verifier(), srv.APIv3Key(), notify.WithClock(srv.Now))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *notify.Notification, 8)
	merchant := httptest.NewServer(parser.Handler(func(_ context.Context, n *notify.Notification) error {
		got <- n
		return nil
	}))
	t.Cleanup(merchant.Close)
	next := func(id string) any {
		t.Helper()
		select {
		case n := <-got:
			if n.ID != id {
				t.Fatalf("delivered %s %s, want %s", n.EventType, n.ID, id)
			}
			return n.Event
		case <-time.After(10 * time.Second):
			t.Fatalf("notification %s never delivered", id)
		}
		return nil
	}
	if _, _, err := c.V3.Marketing.MembercardOpen.Callback.Patch(ctx, &membercardopen.UpdateCallbackRequest{NotifyURL: merchant.URL}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.V3.Brand.Partner.CardMember.Cards.CardID(emulator.DemoBrandCardID).Patch(ctx, &cardmember.UpdateCardRequest{BrandID: emulator.DemoBrandID, NotifyURL: merchant.URL}); err != nil {
		t.Fatal(err)
	}

	claim, err := srv.ClaimCard(emulator.ClaimCardRequest{CardID: emulator.DemoCardID, OpenID: emulator.DemoOpenID, ActivateType: emulator.JumpActivate, OuterStr: "store_001"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(claim.NotificationID).(*membercardopen.AcceptCardEvent); ev.Code != claim.Code || ev.OuterStr != "store_001" {
		t.Errorf("ACCEPT_CARD %+v", *ev)
	}
	act, err := srv.ActivateCard(claim.CardID, claim.Code)
	if err != nil || act.ActivateTicket == "" || act.State != "NOT_ACTIVATE" {
		t.Fatalf("%+v %v", act, err)
	}
	next(act.NotificationID)
	if info, _, err := c.V3.Marketing.MembercardOpen.ActivateInformations.ActivateTicket(act.ActivateTicket).Get(ctx); err != nil || info.Nickname == "" {
		t.Errorf("activation information: %+v %v", info, err)
	}
	del, err := srv.DeleteUserCard(claim.CardID, claim.Code)
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(del.NotificationID).(*membercardopen.UserCardManageEvent); ev.EventType != membercardopen.ManageEventTypeUserDeleteMembercard {
		t.Errorf("USERCARD_MANAGE %+v", *ev)
	}
	if _, err := srv.DeleteUserCard(claim.CardID, claim.Code); !errors.Is(err, emulator.ErrUserCardState) {
		t.Errorf("a second deletion: %v", err)
	}

	open, err := srv.ClaimBrandCard(emulator.ClaimBrandCardRequest{BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID})
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(open.NotificationID).(*cardmember.UserCardEvent); ev.UserCardCode != open.UserCardCode || ev.UserCardState != cardmember.UserCardEventStateNotEffective {
		t.Errorf("USER_CARD.CREATE %+v", *ev)
	}
	if _, _, err := c.V3.Brand.Partner.CardMember.UserCards.UserCardCode(open.UserCardCode).Confirm.Post(ctx, &cardmember.ConfirmUserCardRequest{
		BrandID: emulator.DemoBrandID, OpenID: emulator.DemoOpenID, CardID: emulator.DemoBrandCardID, UserCardConfirmState: cardmember.UserCardConfirmStateCreateCardSuccess}); err != nil {
		t.Fatal(err)
	}
	x, err := srv.ExchangePoints(emulator.ExchangePointsRequest{BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, UserCardCode: open.UserCardCode})
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(x.NotificationID).(*cardmember.PointExchangeCouponEvent); ev.RecordID != x.RecordID || ev.DeductPoints != 100 {
		t.Errorf("POINT_EXCHANGE_COUPON %+v", *ev)
	}
	gone, err := srv.DeleteBrandUserCard(emulator.DemoBrandID, emulator.DemoBrandCardID, open.UserCardCode)
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(gone.NotificationID).(*cardmember.UserCardEvent); ev.UserCardState != cardmember.UserCardEventStateDelete {
		t.Errorf("USER_CARD.DELETE %+v", *ev)
	}
	if _, err := srv.ClaimCard(emulator.ClaimCardRequest{CardID: "pbLatNoSuchCard", OpenID: emulator.DemoOpenID}); !errors.Is(err, emulator.ErrNotFound) {
		t.Errorf("unknown card: %v", err)
	}
}
