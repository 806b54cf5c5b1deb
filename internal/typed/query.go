package typed

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"sync"

	"github.com/wxpaykit/wxpay/core"
)

// Query parameters of a generated request are the fields tagged query:"name".
// They are encoded here, by one piece of code, rather than by a generated
// method per request.

type queryField struct {
	index int
	name  string
}

var queryFields sync.Map // reflect.Type → []queryField

var sensitiveType = reflect.TypeFor[core.Sensitive]()

// EncodeQuery encodes the query:"name" fields of the struct req points to.
// Empty strings and nil pointers are left out. Sensitive values are encrypted
// with encrypt; sealed reports whether any was, so that Wechatpay-Serial is
// sent. Values with control characters are refused.
func EncodeQuery(req any, encrypt func(string) (string, error)) (q url.Values, sealed bool, err error) {
	rv := reflect.ValueOf(req)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, false, nil
	}
	rv = rv.Elem()
	fields := fieldsOf(rv.Type())
	if len(fields) == 0 {
		return nil, false, nil
	}
	q = make(url.Values, len(fields))
	for _, f := range fields {
		v := rv.Field(f.index)
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				continue
			}
			v = v.Elem()
		}
		var s string
		switch {
		case v.Type() == sensitiveType:
			if v.String() == "" {
				continue
			}
			if s, err = encrypt(v.String()); err != nil {
				return nil, false, err
			}
			sealed = true
		case v.Kind() == reflect.String:
			if s = v.String(); s == "" {
				continue
			}
			if err := CheckText(fmt.Sprintf("query parameter %q", f.name), s); err != nil {
				return nil, false, err
			}
		case v.CanInt():
			s = strconv.FormatInt(v.Int(), 10)
		case v.Kind() == reflect.Bool:
			s = strconv.FormatBool(v.Bool())
		default:
			return nil, false, fmt.Errorf("%w: query parameter %q has unsupported type %s", core.ErrInvalidRequest, f.name, v.Type())
		}
		q.Set(f.name, s)
	}
	return q, sealed, nil
}

func fieldsOf(t reflect.Type) []queryField {
	if fs, ok := queryFields.Load(t); ok {
		return fs.([]queryField)
	}
	var fs []queryField
	for i := 0; i < t.NumField(); i++ {
		if name := t.Field(i).Tag.Get("query"); name != "" {
			fs = append(fs, queryField{index: i, name: name})
		}
	}
	queryFields.Store(t, fs)
	return fs
}
