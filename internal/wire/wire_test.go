package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRequestMessage(t *testing.T) {
	t.Parallel()
	// The worked example of the protocol notes (§3.1).
	got := AppendRequestMessage(nil, "POST", "/v3/marketing/membercard-open/cards/pbLatjvWOibDc5-TBnbUk1pD12o0/users/import",
		"1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242",
		[]byte(`{"openid":"obLatjnx9gnqzS4myYGmLZ7LgLBA","out_request_no":"100002322019090134234sfdf"}`))
	want := "POST\n/v3/marketing/membercard-open/cards/pbLatjvWOibDc5-TBnbUk1pD12o0/users/import\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n{\"openid\":\"obLatjnx9gnqzS4myYGmLZ7LgLBA\",\"out_request_no\":\"100002322019090134234sfdf\"}\n"
	if string(got) != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	get := AppendRequestMessage(nil, "GET", "/v3/certificates?algorithm_type=RSA", "1680144553", "vDit3y4Fmv45dem0CSmKbBK4tUHRR8Dj", nil)
	if len(get) != 85 {
		// 85 is the sign_message_length WeChat Pay reported for this exact request.
		t.Errorf("len = %d, want 85", len(get))
	}
	// A body ending in \n still gets its own terminator.
	if m := AppendRequestMessage(nil, "POST", "/v3/x", "1", "n", []byte("{}\n")); !bytes.HasSuffix(m, []byte("{}\n\n")) {
		t.Errorf("%q", m)
	}
	if m := AppendResponseMessage(nil, "1", "n", nil); string(m) != "1\nn\n\n" {
		t.Errorf("%q", m)
	}
}

func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	official := `WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",signature="uOVRnA4qG/MNnYzdQxJanN+zU+lTgIcnU9BxGw5dKjK+VdEUz2FeIoC+D5sB/LN+nGzX3hfZg6r5wT1pl2ZobmIc6p0ldN7J6yDgUzbX8Uk3sD4a4eZVPTBvqNDoUqcYMlZ9uuDdCvNv4TM3c1WzsXUrExwVkI1XO5jCNbgDJ25nkT/c1gIFvqoogl7MdSFGc4W4xZsqCItnqbypR3RuGIlR9h9vlRsy7zJR9PBI83X8alLDIfR1ukt1P7tMnmogZ0cuDY8cZsd8ZlCgLadmvej58SLsIkVxFJ8XmUgx9FNnt2eAatDSfrMj5Bq6QNb2m6aStTj4lWvB6/aPR8OESA==",timestamp="1554208460",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"`
	a, err := ParseAuthorization(official)
	if err != nil {
		t.Fatal(err)
	}
	if a.MchID != "1900009191" || a.SerialNo != "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C" || a.Timestamp != "1554208460" || a.NonceStr != "593BEC0C930BF1AFEB40B4A08C8FB242" {
		t.Errorf("parsed %+v", a)
	}
	if a.String() != official {
		t.Errorf("rebuilt header differs:\n%s\n%s", a.String(), official)
	}
	// The PHP and Go SDK orders parse to the same value.
	for _, v := range []string{
		`WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="S",timestamp="2",nonce_str="N",signature="G"`,
		`WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="N",timestamp="2",serial_no="S",signature="G"`,
	} {
		got, err := ParseAuthorization(v)
		if err != nil || got != (Authorization{MchID: "1", SerialNo: "S", NonceStr: "N", Timestamp: "2", Signature: "G"}) {
			t.Errorf("%s: %+v %v", v, got, err)
		}
	}
	bad := map[string]string{
		"":                          "scheme",
		`Bearer x`:                  "scheme",
		`WECHATPAY2-SHA256-RSA2048`: "scheme",
		`WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="N",timestamp="2",serial_no="S"`:                         `missing "signature"`,
		`WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="1",nonce_str="N",timestamp="2",serial_no="S",signature="G"`: "duplicate",
		`WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="N",timestamp="x",serial_no="S",signature="G"`:           "timestamp",
		`WECHATPAY2-SHA256-RSA2048 mchid="1", nonce_str="N",timestamp="2",serial_no="S",signature="G"`:          "unknown key",
		`WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="N",timestamp="2",serial_no="S",signature="G",extra="x"`: "unknown key",
		`WECHATPAY2-SHA256-RSA2048 mchid=1,nonce_str="N",timestamp="2",serial_no="S",signature="G"`:             "unknown key",
		`WECHATPAY2-SHA256-RSA2048 mchid`: `key="value"`,
		`WECHATPAY2-SHA256-RSA2048 mchid="1,nonce_str="N",timestamp="2",serial_no="S",signature="G"`:                                                  "",
		`WECHATPAY2-SHA256-RSA2048 mchid="",nonce_str="N",timestamp="2",serial_no="S",signature="G"`:                                                  "empty value",
		`WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="N",timestamp="2",serial_no="S",signature="G",`:                                                "single comma",
		`WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="N` + "\n" + `",timestamp="2",serial_no="S",signature="G"`:                                     "invalid character",
		`WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="N",timestamp="2",serial_no="S",signature="G` + strings.Repeat("A", MaxAuthorizationLen) + `"`: "longer than",
	}
	for v, want := range bad {
		_, err := ParseAuthorization(v)
		if !errors.Is(err, ErrMalformedAuthorization) || !strings.Contains(err.Error(), want) {
			t.Errorf("%.80q: err = %v, want mention of %q", v, err, want)
		}
	}
}

func FuzzAuthorization(f *testing.F) {
	f.Add(`WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="593BEC0C",signature="uOVRnA4qG==",timestamp="1554208460",serial_no="1DDE55AD"`)
	f.Add(`WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="S",timestamp="2",nonce_str="N",signature="G"`)
	f.Add(`WECHATPAY2-SHA256-RSA2048 mchid="",`)
	f.Fuzz(func(t *testing.T, v string) {
		a, err := ParseAuthorization(v)
		if err != nil {
			if !errors.Is(err, ErrMalformedAuthorization) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// Whatever parses must rebuild into a header that parses to the same value.
		b, err := ParseAuthorization(a.String())
		if err != nil || b != a {
			t.Fatalf("round trip: %+v -> %q -> %+v, %v", a, a.String(), b, err)
		}
	})
}

func TestNonce(t *testing.T) {
	t.Parallel()
	n, err := AppendNonce(nil, bytes.NewReader(bytes.Repeat([]byte{255, 0, 61, 62, 247}, 100)))
	if err != nil || len(n) != NonceLen {
		t.Fatalf("%q %v", n, err)
	}
	for _, c := range n {
		if !strings.ContainsRune(nonceAlphabet, rune(c)) {
			t.Errorf("character %q outside [0-9A-Za-z]", c)
		}
	}
	if _, err := AppendNonce(nil, bytes.NewReader(nil)); err == nil {
		t.Error("exhausted random source must fail")
	}
}
