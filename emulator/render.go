package emulator

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/wxpaykit/wxpay/internal/apispec"
)

// listPage answers a list operation with the page of items that the query's
// offset and limit (validated as non-negative integers; limit 0 or absent
// means 20) select, each item rendered by item. The offset counts items or,
// for the lists the spec marks so (分页页码), pages.
func listPage[T any](e *Emulator, r *request, items []T, item func(T) any) answer {
	offset, _ := strconv.Atoi(r.query.Get("offset"))
	limit, _ := strconv.Atoi(r.query.Get("limit"))
	offset = max(offset, 0)
	if limit <= 0 {
		limit = 20
	}
	from := min(offset, len(items))
	if r.op.ListOffset == "page" && offset > 0 {
		// 分页页码: offset counts pages of limit items (no overflow: an
		// offset past the end is the end).
		from = len(items)
		if offset < len(items)/limit+1 {
			from = min(offset*limit, len(items))
		}
	}
	to := len(items)
	if limit < to-from { // no overflow for a huge limit
		to = from + limit
	}
	data := make([]any, 0, to-from)
	for _, it := range items[from:to] {
		data = append(data, item(it))
	}
	return e.rendered(r, map[string]any{"total_count": len(items), "offset": offset, "limit": limit, "data": data})
}

// synthesise answers an operation without dedicated behaviour: a well-formed
// answer built from the spec, echoing request values where names match.
func (e *Emulator) synthesise(r *request) answer {
	if r.op.ResponseStatus == http.StatusNoContent {
		return noContent()
	}
	if !r.op.ResponseDocumented {
		return ok(map[string]any{})
	}
	src := map[string]any{}
	for k, v := range r.body {
		src[k] = v
	}
	for k, vs := range r.query {
		src[k] = vs[0]
	}
	for k, v := range r.params {
		src[k] = v
	}
	return e.rendered(r, src)
}

// rendered answers 200 with src rendered as the operation's response.
func (e *Emulator) rendered(r *request, src map[string]any) answer {
	return ok(e.render(r, r.op.Response, src))
}

// reply is rendered, or 204 without a body where the spec answers so.
func (e *Emulator) reply(r *request, src map[string]any) answer {
	if r.op.ResponseStatus == http.StatusNoContent {
		return noContent()
	}
	return e.rendered(r, src)
}

// render builds an object of the given fields: present values from src (converted
// to the field's JSON type), required ones made up when missing.
func (e *Emulator) render(r *request, fields []*apispec.Field, src map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		v, has := src[f.Name]
		if has && v != nil {
			if cv, ok := e.convert(r, f, f.Type, v); ok {
				out[f.Name] = cv
				continue
			}
		}
		if f.Required {
			out[f.Name] = e.invent(r, f, f.Type)
		}
	}
	return out
}

func (e *Emulator) convert(r *request, f *apispec.Field, t apispec.Type, v any) (any, bool) {
	switch t {
	case apispec.String:
		s, ok := v.(string)
		if ok && len(f.Enum) > 0 && !contains(f.Enum, s) {
			return nil, false
		}
		return s, ok
	case apispec.Integer, apispec.Number:
		switch n := v.(type) {
		case json.Number, int, int64, float64:
			return n, true
		case string:
			if _, err := strconv.ParseFloat(n, 64); err == nil {
				return json.Number(n), true
			}
		}
		return nil, false
	case apispec.Boolean:
		b, ok := v.(bool)
		return b, ok
	case apispec.Object:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		return e.render(r, f.Fields, m), true
	case apispec.Array:
		list, ok := v.([]any)
		if !ok {
			return nil, false
		}
		out := make([]any, 0, len(list))
		for _, it := range list {
			if cv, ok := e.convert(r, f, f.Items, it); ok {
				out = append(out, cv)
			}
		}
		return out, true
	}
	return nil, false
}

// invent makes up a plausible value of the field's type.
func (e *Emulator) invent(r *request, f *apispec.Field, t apispec.Type) any {
	switch t {
	case apispec.String:
		name := f.Name
		switch {
		case len(f.Enum) > 0:
			return f.Enum[0]
		case f.Encrypted:
			return e.forMerchant(r, "emulated")
		case strings.HasSuffix(name, "_time") || name == "time":
			return rfc3339(e.nowCST())
		case name == "mchid":
			return r.mchID
		case name == "openid":
			return "o" + e.randString(27, alnum)
		case strings.HasSuffix(name, "_date"):
			return e.nowCST().Format("2006-01-02")
		case strings.HasSuffix(name, "url"):
			return "https://wxpay.example/" + name
		case strings.HasSuffix(name, "id") || strings.HasSuffix(name, "_no") || strings.HasSuffix(name, "code") || strings.HasSuffix(name, "token"):
			return e.randString(24, alnum)
		}
		return "emulated"
	case apispec.Integer, apispec.Number:
		if f.Name == "limit" {
			return 10
		}
		return 0
	case apispec.Boolean:
		return false
	case apispec.Object:
		return e.render(r, f.Fields, map[string]any{})
	case apispec.Array:
		return []any{}
	}
	return nil
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func strOr(m map[string]any, key, def string) string {
	if s := str(m, key); s != "" {
		return s
	}
	return def
}
