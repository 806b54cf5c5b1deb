package wxpay

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/wxpaykit/wxpay/internal/testkeys"
)

// The shapes a request body can take, for the sealing property: whatever Go
// value a caller passes either encodes with every Sensitive json writes
// encrypted, or fails with ErrInvalidRequest before anything is sent — never a
// panic, never plaintext.

type sealExported struct {
	A any `json:"a"`
}

type sealUnexported struct {
	a any // json ignores it
}

type sealHidden struct {
	A any `json:"-"`
}

type sealInner struct {
	A any `json:"inner_a"`
}

// SealInnerExp is an exported embedded struct: its fields are promoted.
type SealInnerExp struct {
	B any `json:"inner_b"`
}

type sealEmbedsUnexported struct {
	sealInner // unexported embedded: json promotes inner_a, reflection cannot set it
}

type sealEmbedsUnexportedPtr struct {
	*sealInner
}

type sealEmbedsExported struct {
	SealInnerExp
}

type sealStringOpt struct {
	S Sensitive `json:"s,string"`
}

// shape is a generated value and what sealing it must do.
type shape struct {
	v        any
	visible  int  // non-empty Sensitive values json writes
	mustFail bool // a visible Sensitive that cannot be sealed (map key, unexported embedded)
}

// build turns fuzz bytes into a value, consuming from *data.
func build(data *[]byte, depth int, n *int) shape {
	next := func() byte {
		if len(*data) == 0 {
			return 0
		}
		b := (*data)[0]
		*data = (*data)[1:]
		return b
	}
	leaf := func() shape {
		*n++
		return shape{v: Sensitive("PLAIN" + strconv.Itoa(*n) + "张三"), visible: 1}
	}
	if depth > 6 {
		return leaf()
	}
	kids := func(k int) ([]shape, shape) {
		var all []shape
		var sum shape
		for i := 0; i < k; i++ {
			c := build(data, depth+1, n)
			all = append(all, c)
			sum.visible += c.visible
			sum.mustFail = sum.mustFail || c.mustFail
		}
		return all, sum
	}
	switch next() % 20 {
	case 0, 1:
		return leaf()
	case 2:
		s := leaf()
		p := s.v.(Sensitive)
		return shape{v: &p, visible: 1}
	case 3:
		s := leaf()
		p := s.v.(Sensitive)
		pp := &p
		return shape{v: &pp, visible: 1}
	case 4:
		c, sum := kids(2)
		sum.v = map[string]any{"x": c[0].v, "y": c[1].v}
		return sum
	case 5:
		c, sum := kids(2)
		sum.v = []any{c[0].v, c[1].v}
		return sum
	case 6:
		c, sum := kids(2)
		sum.v = [2]any{c[0].v, c[1].v}
		return sum
	case 7:
		c, sum := kids(1)
		sum.v = sealExported{A: c[0].v}
		return sum
	case 8:
		c, sum := kids(1)
		sum.v = &sealExported{A: c[0].v}
		return sum
	case 9:
		c, _ := kids(1)
		return shape{v: sealUnexported{a: c[0].v}}
	case 10:
		c, _ := kids(1)
		return shape{v: sealHidden{A: c[0].v}}
	case 11:
		c, sum := kids(1)
		sum.v = sealEmbedsUnexported{sealInner{A: c[0].v}}
		sum.mustFail = sum.mustFail || c[0].visible > 0
		return sum
	case 12:
		c, sum := kids(1)
		sum.v = sealEmbedsUnexportedPtr{&sealInner{A: c[0].v}}
		sum.mustFail = sum.mustFail || c[0].visible > 0
		return sum
	case 13:
		return shape{v: sealEmbedsUnexportedPtr{}} // nil embedded pointer: nothing visible
	case 14:
		c, sum := kids(1)
		sum.v = sealEmbedsExported{SealInnerExp{B: c[0].v}}
		return sum
	case 15:
		s := leaf()
		return shape{v: map[Sensitive]string{s.v.(Sensitive): "x"}, visible: 1, mustFail: true}
	case 16:
		s := leaf()
		return shape{v: map[string]Sensitive{"k": s.v.(Sensitive)}, visible: 1}
	case 17:
		s := leaf()
		return shape{v: sealStringOpt{S: s.v.(Sensitive)}, visible: 1}
	case 18:
		return shape{v: map[string]any(nil)}
	default:
		return shape{v: []Sensitive{"", ""}} // empty values are sent as "", unencrypted
	}
}

func FuzzSealRequestBody(f *testing.F) {
	for _, seed := range [][]byte{
		{0}, {2}, {3}, {4, 0, 1}, {5, 7, 0, 9, 0}, {11, 0}, {12, 0}, {13}, {14, 0}, {15}, {16}, {17}, {6, 10, 0, 18},
		{4, 11, 0, 8, 0}, {7, 12, 1}, {5, 15, 0},
	} {
		f.Add(seed)
	}
	k := testkeys.Shared()
	c, err := NewClient(WithMerchant(testkeys.MchID, testkeys.MerchantSerial, k.Merchant),
		WithPlatformPublicKey(testkeys.PublicKeyID, &k.Platform.PublicKey))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		sh := build(&data, 0, &n)
		body, sealed, err := c.encodeBody(sh.v)
		if sh.mustFail {
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("%#v: err = %v, want ErrInvalidRequest", sh.v, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%#v: %v", sh.v, err)
		}
		if bytesContainPlain(body) {
			t.Fatalf("plaintext on the wire: %s", body)
		}
		if !json.Valid(body) {
			t.Fatalf("not JSON: %s", body)
		}
		var tree any
		if err := json.Unmarshal(body, &tree); err != nil {
			t.Fatal(err)
		}
		if got := countCiphertexts(t, tree); got != sh.visible || sealed != (sh.visible > 0) {
			t.Fatalf("%s: %d ciphertexts (sealed %v), want %d", body, got, sealed, sh.visible)
		}
	})
}

func bytesContainPlain(b []byte) bool { return strings.Contains(string(b), "PLAIN") }

// countCiphertexts counts the strings of a decoded body that decrypt with the
// platform key to a plaintext of the fuzzer.
func countCiphertexts(t *testing.T, v any) int {
	t.Helper()
	n := 0
	switch x := v.(type) {
	case map[string]any:
		for _, c := range x {
			n += countCiphertexts(t, c)
		}
	case []any:
		for _, c := range x {
			n += countCiphertexts(t, c)
		}
	case string:
		if x == "" {
			return 0
		}
		if unq, err := strconv.Unquote(x); err == nil { // the ,string option quotes once more
			x = unq
		}
		if _, err := base64.StdEncoding.DecodeString(x); err != nil {
			t.Fatalf("string %q on the wire is not a ciphertext", x)
		}
		pt, err := DecryptOAEP(testkeys.Shared().Platform, x)
		if err != nil || !strings.HasPrefix(string(pt), "PLAIN") {
			t.Fatalf("string %q does not decrypt to a plaintext of the test: %v", x, err)
		}
		n++
	}
	return n
}

func TestSealRejectsCyclesAndNUL(t *testing.T) {
	k := testkeys.Shared()
	c, err := NewClient(WithMerchant(testkeys.MchID, testkeys.MerchantSerial, k.Merchant),
		WithPlatformPublicKey(testkeys.PublicKeyID, &k.Platform.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	cyc := map[string]any{"name": Sensitive("张三")}
	cyc["self"] = cyc
	type node struct {
		Next *node     `json:"next"`
		S    Sensitive `json:"s"`
	}
	loop := &node{S: "张三"}
	loop.Next = loop
	for name, v := range map[string]any{
		"cyclic map":     cyc,
		"cyclic pointer": loop,
		"NUL in value":   map[string]any{"s": Sensitive("\x00wxpay-sealed\x00forged")},
	} {
		if _, _, err := c.encodeBody(v); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
	}
}
