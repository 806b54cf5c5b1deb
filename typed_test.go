package wxpay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/apiv3/payrollcard"
	"github.com/wxpaykit/wxpay/internal/apispec"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

var errRecorded = errors.New("recorded, not sent")

// TestTypedTreeCoversTheSpec walks client.V3 by reflection, calls every operation
// method (sync and async) and checks the method and path it sends against the
// spec: every spec operation is reachable exactly once and nothing else exists.
func TestTypedTreeCoversTheSpec(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var sent []string
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		sent = append(sent, r.Method+" "+r.URL.EscapedPath())
		mu.Unlock()
		return nil, errRecorded
	})
	k := keys()
	c, err := wxpay.NewClient(
		wxpay.WithMerchant(testMchID, testSerial, k.merchant),
		wxpay.WithPlatformPublicKey(testPubKeyID, &k.platform.PublicKey),
		wxpay.WithHTTPClient(&http.Client{Transport: rt}),
		wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 1}),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ctxV, optV := reflect.ValueOf(ctx), reflect.ValueOf(wxpay.WithoutValidation())
	httpMethods := map[string]bool{"Get": true, "Post": true, "Put": true, "Patch": true, "Delete": true}

	var reached []string
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		typ := v.Type()
		for i := 0; i < typ.NumMethod(); i++ {
			m := typ.Method(i)
			mv := v.Method(i)
			base, async := strings.CutSuffix(m.Name, "Async")
			switch {
			case httpMethods[base]:
				args := []reflect.Value{ctxV}
				for i := 1; i < mv.Type().NumIn()-1; i++ { // ctx, [req], [w io.Writer], opts
					if in := mv.Type().In(i); in.Kind() == reflect.Pointer {
						args = append(args, withUploadFile(reflect.New(in.Elem())))
					} else {
						args = append(args, reflect.ValueOf(io.Discard))
					}
				}
				args = append(args, optV)
				out := mv.Call(args)
				if async {
					out = out[0].MethodByName("Wait").Call(nil)
				}
				errV := out[len(out)-1]
				if e, _ := errV.Interface().(error); !errors.Is(e, errRecorded) {
					t.Errorf("%s %s: err = %v, want the recorded transport error", path, m.Name, e)
				}
				if !async {
					reached = append(reached, strings.ToUpper(base)+" "+path)
				}
			case mv.Type().NumIn() == 1 && mv.Type().In(0).Kind() == reflect.String && mv.Type().NumOut() == 1:
				walk(mv.Call([]reflect.Value{reflect.ValueOf("~" + m.Name)})[0], path+"/{"+m.Name+"}")
			}
		}
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			if f.IsExported() && f.Type.Kind() == reflect.Struct && strings.HasPrefix(f.Type.PkgPath(), "github.com/wxpaykit/wxpay/apiv3") {
				walk(v.Field(i), path+"/"+f.Name)
			}
		}
	}
	walk(reflect.ValueOf(c.V3), "/v3")

	// Normalise what was sent: "~CardID" segments become "{}".
	norm := func(p string) string {
		segs := strings.Split(p, "/")
		for i, s := range segs {
			if strings.HasPrefix(s, "~") || strings.HasPrefix(s, "{") {
				segs[i] = "{}"
			}
		}
		return strings.Join(segs, "/")
	}
	var got, want []string
	for _, s := range sent {
		got = append(got, norm(s))
	}
	for _, op := range apispec.Operations() {
		want = append(want, norm(op.Method+" "+op.Path))
		want = append(want, norm(op.Method+" "+op.Path)) // once sync, once async
	}
	sort.Strings(got)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sent requests differ from the spec (-spec +sent):\n%s", diff)
	}
	if len(apispec.Operations()) < 60 || len(reached) != len(apispec.Operations()) {
		t.Errorf("reached %d operations, spec has %d", len(reached), len(apispec.Operations()))
	}
	// Parameter methods are named after the parameter: {card_id} → CardID(…).
	for _, s := range sent {
		for _, seg := range strings.Split(strings.SplitN(s, " ", 2)[1], "/") {
			if name, ok := strings.CutPrefix(seg, "~"); ok && !strings.Contains(strings.ToLower(strings.ReplaceAll(strings.Join(specParams(), ","), "_", "")), strings.ToLower(name)) {
				t.Errorf("method %s matches no path parameter of the spec", name)
			}
		}
	}
}

func specParams() []string {
	var out []string
	for _, op := range apispec.Operations() {
		for _, p := range op.PathParams {
			out = append(out, p.Name)
		}
	}
	return out
}

func TestTypedValidationRejectsBeforeSending(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, okJSON(`{}`))
	c := newClient(t, ts)
	ctx := context.Background()
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name string
		call func() error
		want []wxpay.FieldIssue
	}{
		{
			name: "payroll token without required fields",
			call: func() error {
				_, _, err := c.V3.PayrollCard.Tokens.Post(ctx, &payrollcard.CreateTokenRequest{SubMchID: "1900000109"})
				return err
			},
			want: []wxpay.FieldIssue{
				{Field: "/openid", Location: "body", Issue: "is required"},
				{Field: "/user_name", Location: "body", Issue: "is required"},
				{Field: "/id_card_number", Location: "body", Issue: "is required"},
			},
		},
		{
			name: "payroll token with a bad enum",
			call: func() error {
				_, _, err := c.V3.PayrollCard.Tokens.Post(ctx, &payrollcard.CreateTokenRequest{
					OpenID: "o", SubMchID: "1", UserName: "张三", IDCardNumber: "1", EmploymentType: "FOREVER"})
				return err
			},
			want: []wxpay.FieldIssue{{Field: "/employment_type", Location: "body", Issue: `"FOREVER" is not one of the documented values`}},
		},
		{
			name: "permission token: enum, pattern and length",
			call: func() error {
				_, _, err := c.V3.Marketing.MembercardOpen.Cards.CardID("pbLat").PermissionTokens.Post(ctx, &membercardopen.CreatePermissionTokenRequest{
					ActivateType: "AUTO", OuterStr: "has space", ActivateURL: "https://a.example/" + long(120)})
				return err
			},
			want: []wxpay.FieldIssue{
				{Field: "/activate_type", Location: "body", Issue: `"AUTO" is not one of the documented values`},
				{Field: "/activate_url", Location: "body", Issue: "is 138 characters long, at most 128 allowed"},
				{Field: "/outer_str", Location: "body", Issue: `"has space" does not match ^[0-9A-Za-z\p{Han}[:punct:]]+$`},
			},
		},
		{
			name: "users import: out_request_no characters and openid length",
			call: func() error {
				_, _, err := c.V3.Marketing.MembercardOpen.Cards.CardID("pbLat").Users.Import.Post(ctx, &membercardopen.ImportUserRequest{
					OpenID: long(129), OutRequestNo: "20260101#1"})
				return err
			},
			want: []wxpay.FieldIssue{
				{Field: "/openid", Location: "body", Issue: "is 129 characters long, at most 128 allowed"},
				{Field: "/out_request_no", Location: "body", Issue: `"20260101#1" does not match ^[0-9A-Za-z|_*-]+$`},
			},
		},
		{
			name: "pre-auth token: length counts characters, not bytes",
			call: func() error {
				_, _, err := c.V3.Brand.Partner.CardMember.PreAuthTokens.Post(ctx, &cardmember.CreatePreAuthTokenRequest{
					BrandID: strings.Repeat("品", 33), CardID: strings.Repeat("卡", 32), OpenID: "o"})
				return err
			},
			want: []wxpay.FieldIssue{{Field: "/brand_id", Location: "body", Issue: "is 33 characters long, at most 32 allowed"}},
		},
		{
			name: "nested array element with a bad enum",
			call: func() error {
				_, _, err := c.V3.Brand.Partner.CardMember.UserCards.ImportByOpenID.Post(ctx, &cardmember.ImportUserCardByOpenIDRequest{
					BrandID: "1004", CardID: "c", OpenID: "o", UserCardCode: "1", PickupTime: "2026-01-01T10:00:00+08:00",
					DateInformation: cardmember.ValidDateInformation{Type: cardmember.ValidDateTypePermanent},
					UserInformation: &cardmember.UserInformationInput{CommonFieldList: []cardmember.UserFormValueInput{
						{Name: cardmember.UserFormFlagSex}, {Name: "USER_FORM_FLAG_SHOE_SIZE"},
					}},
				})
				return err
			},
			want: []wxpay.FieldIssue{{Field: "/user_information/common_field_list/1/name", Location: "body", Issue: `"USER_FORM_FLAG_SHOE_SIZE" is not one of the documented values`}},
		},
		{
			name: "missing required query parameter",
			call: func() error {
				_, _, err := c.V3.Brand.Partner.CardMember.UserCards.Get(ctx, &cardmember.ListUserCardsRequest{OpenID: "o", Limit: 10})
				return err
			},
			want: []wxpay.FieldIssue{{Field: "brand_id", Location: "query", Issue: "is required"}},
		},
		{
			name: "nil request",
			call: func() error {
				_, _, err := c.V3.PayrollCard.Tokens.Post(ctx, nil)
				return err
			},
			want: []wxpay.FieldIssue{{Field: "request", Location: "call", Issue: "is nil"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ve *wxpay.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, wxpay.ErrInvalidRequest) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			if diff := cmp.Diff(tt.want, ve.Issues); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
			mustContainNone(t, "error text", []byte(err.Error()), "张三")
		})
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.seen) != 0 {
		t.Errorf("%d invalid requests reached the server", len(ts.seen))
	}
}

func TestTypedEncryptedFieldsNeverTravelInPlaintext(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, okJSON(`{"user_card_code":"478515832665","card_id":"c","openid":"o","brand_id":"1004","card_type":"NORMAL","valid_date_information":{"type":"PERMANENT"},"pickup_time":"2026-01-01T10:00:00+08:00","user_card_state":"EFFECTIVE"}`))
	c := newClient(t, ts)
	ctx := context.Background()
	const phone, sex = "13800138000", "男"
	card, resp, err := c.V3.Brand.Partner.CardMember.UserCards.ImportByOpenID.Post(ctx, &cardmember.ImportUserCardByOpenIDRequest{
		BrandID: "1004", CardID: "c", OpenID: "o", UserCardCode: "478515832665", PickupTime: "2026-01-01T10:00:00+08:00",
		PhoneNumber:     phone,
		DateInformation: cardmember.ValidDateInformation{Type: cardmember.ValidDateTypePermanent},
		UserInformation: &cardmember.UserInformationInput{CommonFieldList: []cardmember.UserFormValueInput{{Name: cardmember.UserFormFlagSex, Value: sex}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if card.UserCardCode != "478515832665" || resp.StatusCode != 200 {
		t.Errorf("card = %+v", card)
	}
	got := ts.last()
	mustContainNone(t, "wire body", got.Body, phone, sex)
	if got.Header.Get("Wechatpay-Serial") != testPubKeyID {
		t.Errorf("Wechatpay-Serial = %q", got.Header.Get("Wechatpay-Serial"))
	}
	var wire struct {
		PhoneNumber     string `json:"phone_number"`
		UserInformation struct {
			CommonFieldList []struct{ Name, Value string } `json:"common_field_list"`
		} `json:"user_information"`
	}
	if err := json.Unmarshal(got.Body, &wire); err != nil {
		t.Fatal(err)
	}
	for ct, want := range map[string]string{wire.PhoneNumber: phone, wire.UserInformation.CommonFieldList[0].Value: sex} {
		if pt, err := wxpay.DecryptOAEP(keys().platform, ct); err != nil || string(pt) != want {
			t.Errorf("decrypts to %q, %v; want %q", pt, err, want)
		}
	}

	// An encrypted query parameter is encrypted and percent-encoded.
	_, _, err = c.V3.Marketing.MembercardOpen.PhonenumberMember.Search.Get(ctx, &membercardopen.SearchPhoneNumberMemberRequest{
		CardID: "c", EncryptedPhoneNumber: phone})
	if err != nil {
		t.Fatal(err)
	}
	got = ts.last()
	u, _ := url.ParseRequestURI(got.Target)
	ct := u.Query().Get("encrypted_phone_number")
	if strings.Contains(got.Target, phone) || strings.Contains(u.RawQuery, "+") {
		t.Errorf("query %q leaks plaintext or an unencoded '+'", u.RawQuery)
	}
	if pt, err := wxpay.DecryptOAEP(keys().platform, ct); err != nil || string(pt) != phone {
		t.Errorf("query decrypts to %q, %v", pt, err)
	}
	if got.Header.Get("Wechatpay-Serial") != testPubKeyID || !got.SignatureOK {
		t.Errorf("serial %q, signature ok %v", got.Header.Get("Wechatpay-Serial"), got.SignatureOK)
	}
}

func TestModelsNeverPrintPersonalData(t *testing.T) {
	t.Parallel()
	ct, _ := wxpay.EncryptOAEP(nil, &keys().merchant.PublicKey, []byte("13800138000"))
	req := &payrollcard.CreateTokenRequest{OpenID: "o", SubMchID: "1", UserName: "张三", IDCardNumber: "110101199003077777"}
	card := &cardmember.UserCard{PhoneNumber: wxpay.Encrypted(ct), UserInformation: &cardmember.UserInformation{
		CommonFieldList: []cardmember.UserFormValue{{Name: cardmember.UserFormFlagName, Value: wxpay.Encrypted(ct)}}}}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "req", req.UserName, "phone", card.PhoneNumber)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v", req, req, req), fmt.Sprintf("%v %+v", card, *card), buf.String()} {
		for _, secret := range []string{"张三", "110101199003077777", ct[:20]} {
			if strings.Contains(s, secret) {
				t.Errorf("printed %q: %s", secret, s)
			}
		}
	}
	// The decryption helpers open what WeChat Pay encrypted for the merchant.
	ts := newTestServer(t, okJSON(`{}`))
	c := newClient(t, ts)
	phone, err := card.DecryptPhoneNumber(c)
	if err != nil || string(phone) != "13800138000" {
		t.Errorf("DecryptPhoneNumber = %v, %v", phone, err)
	}
	if v, err := card.UserInformation.CommonFieldList[0].DecryptValue(c); err != nil || string(v) != "13800138000" {
		t.Errorf("DecryptValue = %v, %v", v, err)
	}
}

// withUploadFile gives an upload request a file of a type its endpoint takes,
// which even WithoutValidation does not do without.
func withUploadFile(req reflect.Value) reflect.Value {
	t := req.Elem().Type()
	for i := 0; i < t.NumField(); i++ {
		switch t.Field(i).Tag.Get("upload") {
		case "filename":
			name := "x.png"
			if strings.Contains(t.Name(), "Video") {
				name = "x.mp4"
			}
			req.Elem().Field(i).SetString(name)
		case "file":
			req.Elem().Field(i).Set(reflect.ValueOf(bytes.NewReader([]byte("file"))))
		}
	}
	return req
}
