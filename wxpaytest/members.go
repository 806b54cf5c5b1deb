package wxpaytest

import (
	"github.com/wxpaykit/wxpay/emulator"
)

// The member's side: what a WeChat user does with a card, each action
// delivering its documented notification to the merchant (signed, encrypted,
// redelivered until answered 2xx; SetNotificationSchedule on s.Emulator
// shortens the waits). MEMBERCARD.* go to the callback URL set with
// PATCH /v3/marketing/membercard-open/callback (the fixtures' is
// emulator.DemoNotifyURL, unreachable: point it at your handler),
// BRAND_MEMBER_CARD_SP.* to the notify_url of the brand card template.
// Errors wrap emulator.ErrNotFound, emulator.ErrUserCardState or
// emulator.ErrCannotNotify.
//
//	claim, _ := srv.ClaimCard(emulator.ClaimCardRequest{CardID: emulator.DemoCardID,
//		OpenID: emulator.DemoOpenID, ActivateType: emulator.JumpActivate})
//	act, _ := srv.ActivateCard(claim.CardID, claim.Code)
//	info, _, _ := client.V3.Marketing.MembercardOpen.ActivateInformations.ActivateTicket(act.ActivateTicket).Get(ctx)

// ClaimCard plays a user claiming a membercard-open card: a NOT_ACTIVATE user
// card and MEMBERCARD.ACCEPT_CARD.
func (s *Server) ClaimCard(req emulator.ClaimCardRequest) (emulator.UserCardChange, error) {
	return s.Emulator.ClaimCard(req)
}

// ActivateCard plays the user activating a claimed card: EFFECTIVE at once
// for AUTO_ACTIVATE; for JUMP_ACTIVATE the sign-up form, whose ActivateTicket
// GetMembercardActivateInformation answers, until the merchant activates it.
// Both deliver MEMBERCARD.ACTIVATE_CARD.
func (s *Server) ActivateCard(cardID, code string) (emulator.UserCardChange, error) {
	return s.Emulator.ActivateCard(cardID, code)
}

// DeleteUserCard plays the user deleting a membercard-open card: DELETE and
// MEMBERCARD.USERCARD_MANAGE (USER_DELETE_MEMBERCARD).
func (s *Server) DeleteUserCard(cardID, code string) (emulator.UserCardChange, error) {
	return s.Emulator.DeleteUserCard(cardID, code)
}

// ClaimBrandCard plays a user opening a brand card: a user card awaiting
// ConfirmBrandUserCard and BRAND_MEMBER_CARD_SP.USER_CARD.CREATE.
func (s *Server) ClaimBrandCard(req emulator.ClaimBrandCardRequest) (emulator.BrandUserCardChange, error) {
	return s.Emulator.ClaimBrandCard(req)
}

// DeleteBrandUserCard plays the user deleting a brand user card:
// BRAND_MEMBER_CARD_SP.USER_CARD.DELETE.
func (s *Server) DeleteBrandUserCard(brandID, cardID, userCardCode string) (emulator.BrandUserCardChange, error) {
	return s.Emulator.DeleteBrandUserCard(brandID, cardID, userCardCode)
}

// ExchangePoints plays the user exchanging points for a coupon: a pending
// record, settled by ConfirmBrandPointExchange, and
// BRAND_MEMBER_CARD_SP.POINT_EXCHANGE_COUPON.
func (s *Server) ExchangePoints(req emulator.ExchangePointsRequest) (emulator.PointExchange, error) {
	return s.Emulator.ExchangePoints(req)
}
