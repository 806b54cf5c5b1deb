package emulator

import (
	"errors"
	"sort"
	"sync"
	"time"
)

// Family is the product family a card template belongs to. Its values are the
// spec's family names (apispec.Operation.Family), so that a card's family and an
// operation's compare without a translation.
type Family string

// The two card families.
const (
	BrandFamily      Family = "brand-card-member" // /v3/brand/partner/card-member
	MembercardFamily Family = "membercard-open"   // /v3/marketing/membercard-open
)

// Code modes of membercard-open cards.
const (
	SystemAllocate  = "SYSTEM_ALLOCATE"  // the service allocates 12-digit codes
	MerchantDeposit = "MERCHANT_DEPOSIT" // codes come from codes/deposit
	RealTime        = "REAL_TIME"        // the merchant passes the code on import
)

// Brand is a brand (品牌) served by a service provider.
type Brand struct {
	ID    string
	MchID string // the service provider allowed to act for the brand
}

// Card is a card template.
type Card struct {
	ID       string
	Family   Family
	BrandID  string // brand cards
	MchID    string // the merchant that created it (membercard cards) or the brand's provider
	CodeMode string // membercard cards; default SYSTEM_ALLOCATE
	AppID    string
	// Template is the stored JSON template, as created or last updated.
	Template map[string]any
}

// in reports whether c is a card of family f; a nil card is of none.
func (c *Card) in(f Family) bool { return c != nil && c.Family == f }

// ofBrand reports whether c is a card template of brand brandID.
func (c *Card) ofBrand(brandID string) bool { return c.in(BrandFamily) && c.BrandID == brandID }

// User is a WeChat user known to the emulator.
type User struct {
	OpenID string
	AppID  string
}

// SubMerchant is a sub-merchant (特约商户) of a service provider.
type SubMerchant struct {
	SubMchID string
	MchID    string   // its service provider
	AppIDs   []string // AppIDs bound to it
}

// Membership is a user's card.
type Membership struct {
	CardID    string
	OpenID    string
	Code      string
	RequestNo string // out_request_no (or user_card_code) of the import
	State     string
	Created   time.Time
	// record is the stored user-card JSON for brand cards.
	record map[string]any
	// What the user's side (members.go) keeps: the scene value and activation
	// type of the claim, whether it recovered a deleted card, the activate_ticket
	// of the submitted form, and the personal data of a brand card as its
	// notifications carry it (encrypted for the merchant).
	outerStr, activateType string
	recovered              bool
	ticket                 string
	eventUserInfo          map[string]any
}

// User-card states the user's side sets (membercard-open's
// MembercardUserCardStatus; a brand card deleted by its user is DELETE here
// and INVALID in the API's view).
const (
	stateNotActivated = "NOT_ACTIVATE"
	stateEffective    = "EFFECTIVE"
	stateDeleted      = "DELETE"
)

type memberKey struct{ card, openid string }

type state struct {
	mu            sync.Mutex
	brands        map[string]*Brand
	cards         map[string]*Card
	users         map[string]*User
	subMerchants  map[string]*SubMerchant
	members       map[memberKey]*Membership
	byCode        map[memberKey]*Membership // (card, code)
	cardMembers   map[string][]*Membership  // card → memberships, in import order
	userMembers   map[string][]*Membership  // openid → memberships, in import order
	idem          map[idemKey]*idem
	deposited     map[string][]string       // card → codes not yet used, in deposit order
	depositedSet  map[memberKey]bool        // (card, code) of the codes in deposited
	callbacks     map[string]string         // mchid → notify_url (membercard)
	activities    map[string]map[string]any // activity_id → brand-member coupon activity
	activityOrder []string                  // activity_ids in creation order
	resources     map[string]map[string]any
	tickets       map[string]*activation    // activate_ticket → the form a user submitted
	exchanges     map[string]*PointExchange // record_id → points-for-coupon exchange
	pay           payments
	media         mediaStore
}

func (s *state) init() {
	s.pay.init()
	s.brands = map[string]*Brand{}
	s.cards = map[string]*Card{}
	s.users = map[string]*User{}
	s.subMerchants = map[string]*SubMerchant{}
	s.members = map[memberKey]*Membership{}
	s.byCode = map[memberKey]*Membership{}
	s.cardMembers = map[string][]*Membership{}
	s.userMembers = map[string][]*Membership{}
	s.idem = map[idemKey]*idem{}
	s.deposited = map[string][]string{}
	s.depositedSet = map[memberKey]bool{}
	s.callbacks = map[string]string{}
	s.activities = map[string]map[string]any{}
	s.resources = map[string]map[string]any{}
	s.tickets = map[string]*activation{}
	s.exchanges = map[string]*PointExchange{}
}

// owned answers a request about one resource: under the state lock, find
// looks the resource up for the caller (or refuses), and act answers with it in
// the same critical section, so no concurrent call changes it in between.
func owned[T any](e *Emulator, r *request, find func(*state, *request) (T, *answer), act func(T) answer) answer {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	v, refused := find(&e.state, r)
	if refused != nil {
		return *refused
	}
	return act(v)
}

// servesBrand reports whether brand brandID exists and mchID is its service
// provider. The caller holds the lock.
func (s *state) servesBrand(brandID, mchID string) bool {
	b := s.brands[brandID]
	return b != nil && b.MchID == mchID
}

// AddBrand registers a brand.
func (e *Emulator) AddBrand(b Brand) error {
	if b.ID == "" || b.MchID == "" {
		return errors.New("emulator: a brand needs an ID and the service provider's mchid")
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	e.state.brands[b.ID] = &b
	return nil
}

// AddCard registers a card template.
func (e *Emulator) AddCard(c Card) error {
	switch {
	case c.ID == "":
		return errors.New("emulator: a card needs an ID")
	case c.Family != BrandFamily && c.Family != MembercardFamily:
		return errors.New("emulator: a card's Family is BrandFamily or MembercardFamily")
	case c.Family == BrandFamily && c.BrandID == "":
		return errors.New("emulator: a brand card needs its BrandID")
	case c.Family == MembercardFamily && c.MchID == "":
		return errors.New("emulator: a membercard card needs the mchid that created it")
	}
	if c.CodeMode == "" && c.Family == MembercardFamily {
		c.CodeMode = SystemAllocate
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	if c.Family == BrandFamily {
		b := e.state.brands[c.BrandID]
		if b == nil {
			return errors.New("emulator: add the brand before its cards")
		}
		c.MchID = b.MchID
	}
	if c.Template == nil {
		c.Template = map[string]any{"card_id": c.ID}
	}
	e.state.cards[c.ID] = &c
	return nil
}

// AddUser registers users (openids).
func (e *Emulator) AddUser(users ...User) {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	for _, u := range users {
		u := u
		e.state.users[u.OpenID] = &u
	}
}

// AddSubMerchant registers a sub-merchant of a service provider.
func (e *Emulator) AddSubMerchant(s SubMerchant) error {
	if s.SubMchID == "" || s.MchID == "" {
		return errors.New("emulator: a sub-merchant needs its SubMchID and the provider's MchID")
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	e.state.subMerchants[s.SubMchID] = &s
	return nil
}

// DepositCodes adds codes to a MERCHANT_DEPOSIT card, as codes/deposit does,
// and reports how many were new (neither deposited nor in use already).
func (e *Emulator) DepositCodes(cardID string, codes ...string) int {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	n := 0
	for _, c := range codes {
		if e.state.deposit(cardID, c) {
			n++
		}
	}
	return n
}

// Memberships returns the memberships of a card in import order.
func (e *Emulator) Memberships(cardID string) []Membership {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	out := make([]Membership, 0, len(e.state.cardMembers[cardID]))
	for _, m := range e.state.cardMembers[cardID] {
		out = append(out, *m)
	}
	return out
}

// Membership returns one user's membership of a card.
func (e *Emulator) Membership(cardID, openID string) (Membership, bool) {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	m := e.state.members[memberKey{cardID, openID}]
	if m == nil {
		return Membership{}, false
	}
	return *m, true
}

// MembershipCount counts memberships across all cards.
func (e *Emulator) MembershipCount() int {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	return len(e.state.members)
}

// CardIDs lists the card templates, sorted.
func (e *Emulator) CardIDs() []string {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	out := make([]string, 0, len(e.state.cards))
	for id := range e.state.cards {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// addMember records a membership; the caller holds the lock and checked it is new.
func (s *state) addMember(m *Membership) {
	s.members[memberKey{m.CardID, m.OpenID}] = m
	s.byCode[memberKey{m.CardID, m.Code}] = m
	s.cardMembers[m.CardID] = append(s.cardMembers[m.CardID], m)
	s.userMembers[m.OpenID] = append(s.userMembers[m.OpenID], m)
}

// deposit adds an unused code to a card's pool; false when it is empty, in the
// pool already or held by a member. The caller holds the lock.
func (s *state) deposit(cardID, code string) bool {
	k := memberKey{cardID, code}
	if code == "" || s.depositedSet[k] || s.byCode[k] != nil {
		return false
	}
	s.depositedSet[k] = true
	s.deposited[cardID] = append(s.deposited[cardID], code)
	return true
}

// takeDeposited removes and returns the oldest deposited code of a card. The
// caller holds the lock.
func (s *state) takeDeposited(cardID string) (string, bool) {
	codes := s.deposited[cardID]
	if len(codes) == 0 {
		return "", false
	}
	code := codes[0]
	s.deposited[cardID] = codes[1:]
	delete(s.depositedSet, memberKey{cardID, code})
	return code, true
}
