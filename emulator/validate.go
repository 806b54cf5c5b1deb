package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/internal/apispec"
)

// issue is the first problem validation found.
type issue struct {
	location, field, value, text string
	encrypted                    bool // a field that did not decrypt
}

func (i *issue) answer() answer {
	if i.encrypted {
		return apiError(http.StatusBadRequest, "PARAM_ERROR", "请确认待处理的消息是否为加密后的密文", map[string]any{
			"field": i.field, "location": i.location, "issue": i.text})
	}
	return paramError(i.location, i.field, i.value, i.text)
}

// validate checks path parameters, query and body against the spec and
// decrypts encrypted values into req.plain.
func (e *Emulator) validate(req *request) (answer, bool) {
	req.plain = map[string]string{}
	for _, f := range req.op.PathParams {
		if is := e.checkString(req, f, req.params[f.Name], "path", f.Name); is != nil {
			return is.answer(), true
		}
	}
	for _, f := range req.op.Query {
		vs, present := req.query[f.Name]
		if !present || len(vs) == 0 {
			if f.Required {
				return paramError("query", f.Name, "", "is required"), true
			}
			continue
		}
		v := vs[0]
		if f.Type == apispec.Integer {
			// Every integer query parameter of the spec is a count (offset, limit).
			n, err := strconv.ParseInt(v, 10, 64)
			switch {
			case err != nil:
				return paramError("query", f.Name, clip(v, 64), "must be an integer"), true
			case n < 0:
				return paramError("query", f.Name, v, "must not be negative"), true
			}
			continue
		}
		if is := e.checkString(req, f, v, "query", f.Name); is != nil {
			return is.answer(), true
		}
	}
	if req.op.HasBody {
		if is := e.checkObject(req, req.body, req.op.Body, ""); is != nil {
			return is.answer(), true
		}
	}
	return answer{}, false
}

func (e *Emulator) checkObject(req *request, obj map[string]any, fields []*apispec.Field, ptr string) *issue {
	for _, f := range fields {
		v, present := obj[f.Name]
		p := ptr + "/" + f.Name
		switch {
		case present && v == nil:
			return &issue{location: "body", field: p, text: "null is not allowed: omit the field instead"}
		case !present:
			if f.Required {
				return &issue{location: "body", field: p, text: "is required"}
			}
			continue
		}
		if is := e.checkValue(req, v, f, f.Type, p); is != nil {
			return is
		}
	}
	return nil
}

func (e *Emulator) checkValue(req *request, v any, f *apispec.Field, t apispec.Type, p string) *issue {
	bad := func(text string) *issue {
		return &issue{location: "body", field: p, value: clip(fmt.Sprint(v), 64), text: text}
	}
	switch t {
	case apispec.String:
		s, ok := v.(string)
		if !ok {
			return bad("must be a string")
		}
		return e.checkString(req, f, s, "body", p)
	case apispec.Integer:
		n, ok := v.(json.Number)
		if !ok {
			return bad("must be an integer")
		}
		if _, err := n.Int64(); err != nil {
			return bad("must be an integer")
		}
	case apispec.Number:
		n, ok := v.(json.Number)
		if !ok {
			return bad("must be a number")
		}
		if _, err := n.Float64(); err != nil {
			return bad("must be a number")
		}
	case apispec.Boolean:
		if _, ok := v.(bool); !ok {
			return bad("must be true or false")
		}
	case apispec.Object:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("must be an object")
		}
		return e.checkObject(req, m, f.Fields, p)
	case apispec.Array:
		items, ok := v.([]any)
		if !ok {
			return bad("must be an array")
		}
		for i, item := range items {
			if item == nil {
				return &issue{location: "body", field: p + "/" + strconv.Itoa(i), text: "null is not allowed"}
			}
			if is := e.checkValue(req, item, f, f.Items, p+"/"+strconv.Itoa(i)); is != nil {
				return is
			}
		}
	}
	return nil
}

// checkString applies length, enum and pattern, or decrypts an encrypted value.
func (e *Emulator) checkString(req *request, f *apispec.Field, s, location, name string) *issue {
	bad := func(text string) *issue {
		return &issue{location: location, field: name, value: clip(s, 64), text: text}
	}
	if f.Required && s == "" {
		return bad("must not be empty")
	}
	if f.MaxLength > 0 {
		if n := utf8.RuneCountInString(s); n > f.MaxLength {
			return bad(fmt.Sprintf("is %d characters long, at most %d allowed", n, f.MaxLength))
		}
	}
	if f.Encrypted {
		if s == "" {
			return nil
		}
		pt, err := wxpay.DecryptOAEP(e.decryptionKey(req.serial), s)
		if err != nil {
			return &issue{location: location, field: name, text: "does not decrypt with the key named by Wechatpay-Serial", encrypted: true}
		}
		req.plain[location+":"+name] = string(pt)
		return nil
	}
	if len(f.Enum) > 0 && s != "" && !contains(f.Enum, s) {
		return bad("is not one of " + strings.Join(f.Enum, ", "))
	}
	if f.Pattern != "" && s != "" {
		if re := e.pattern(f.Pattern); re != nil && !re.MatchString(s) {
			return bad("does not match " + f.Pattern)
		}
	}
	return nil
}

// pattern compiles a spec pattern once. The generator checked every pattern
// compiles; one that does not anyway constrains nothing (nil) rather than
// failing requests.
func (e *Emulator) pattern(p string) *regexp.Regexp {
	if re, ok := e.patterns.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		re = nil
	}
	e.patterns.Store(p, re)
	return re
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// str reads a string member of a decoded body.
func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}
