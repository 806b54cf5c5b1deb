package wxpay

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/wxpaykit/wxpay/internal/redact"
)

// Sealing puts the ciphertext of every Sensitive value of a request body in
// place of its plaintext before the body is encoded. The caller's value is
// never mutated: containers on the way to a Sensitive are copied.
//
// What encoding/json would write is what must be sealed, so the walk follows
// its rules: exported fields, embedded structs (even of unexported type, whose
// exported fields json promotes), map values, slices, arrays, pointers,
// interfaces. Where a Sensitive cannot be replaced — inside a field reached
// through an unexported embedded struct, which reflection may read but not set,
// or as a map key, which json writes as a plain string — the request fails
// with ErrInvalidRequest rather than send plaintext.

var sensitiveType = reflect.TypeFor[Sensitive]()

// maxSealDepth bounds the walk so a cyclic value cannot hang a request.
const maxSealDepth = 64

// sealer replaces every non-empty Sensitive in a value by its sealed ciphertext.
type sealer struct {
	encrypt func(plaintext string) (string, error)
	types   *sync.Map // reflect.Type → bool: can the type hold a Sensitive?
	sealed  int
}

// seal returns v unchanged when it holds no Sensitive value.
func (s *sealer) seal(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	rv := reflect.ValueOf(v)
	if !s.mayHold(rv.Type()) {
		return v, nil
	}
	out, changed, err := s.walk(rv, 0)
	if err != nil || !changed {
		return v, err
	}
	return out.Interface(), nil
}

func errDepth() error {
	return fmt.Errorf("%w: request body nests deeper than %d levels (cyclic value?)", ErrInvalidRequest, maxSealDepth)
}

func (s *sealer) walk(v reflect.Value, depth int) (reflect.Value, bool, error) {
	if depth > maxSealDepth {
		return v, false, errDepth()
	}
	if v.Type() == sensitiveType {
		plain := v.String()
		if plain == "" {
			return v, false, nil
		}
		if strings.HasPrefix(plain, redact.SealedPrefix) {
			return v, false, fmt.Errorf("%w: a Sensitive value contains a NUL byte", ErrInvalidRequest)
		}
		ct, err := s.encrypt(plain)
		if err != nil {
			return v, false, err
		}
		s.sealed++
		return reflect.ValueOf(Sensitive(redact.SealedPrefix + ct)), true, nil
	}
	if !s.mayHold(v.Type()) {
		return v, false, nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v, false, nil
		}
		elem, changed, err := s.walk(v.Elem(), depth+1)
		if err != nil || !changed {
			return v, false, err
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(elem)
		return p, true, nil
	case reflect.Interface:
		if v.IsNil() {
			return v, false, nil
		}
		elem, changed, err := s.walk(v.Elem(), depth+1)
		if err != nil || !changed {
			return v, false, err
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(elem)
		return out, true, nil
	case reflect.Struct:
		return s.walkStruct(v, depth)
	case reflect.Map:
		return s.walkMap(v, depth)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return v, false, nil
		}
		var out reflect.Value
		for i := 0; i < v.Len(); i++ {
			nv, changed, err := s.walk(v.Index(i), depth+1)
			if err != nil {
				return v, false, err
			}
			if !changed {
				continue
			}
			if !out.IsValid() {
				if v.Kind() == reflect.Slice {
					out = reflect.MakeSlice(v.Type(), v.Len(), v.Len())
				} else {
					out = reflect.New(v.Type()).Elem()
				}
				reflect.Copy(out, v)
			}
			out.Index(i).Set(nv)
		}
		if out.IsValid() {
			return out, true, nil
		}
	}
	return v, false, nil
}

func (s *sealer) walkStruct(v reflect.Value, depth int) (reflect.Value, bool, error) {
	var out reflect.Value
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !jsonVisible(f) {
			continue
		}
		if !f.IsExported() {
			// An unexported embedded struct: json writes its exported fields,
			// but reflection cannot put a sealed value there.
			if holds, err := s.holdsPlaintext(v.Field(i), depth+1); err != nil {
				return v, false, err
			} else if holds {
				return v, false, fmt.Errorf("%w: a Sensitive value inside the unexported embedded field %s.%s cannot be encrypted; export the embedded type or make it a named field", ErrInvalidRequest, t, f.Name)
			}
			continue
		}
		nv, changed, err := s.walk(v.Field(i), depth+1)
		if err != nil {
			return v, false, err
		}
		if !changed {
			continue
		}
		if !out.IsValid() {
			out = reflect.New(t).Elem()
			out.Set(v)
		}
		out.Field(i).Set(nv)
	}
	if out.IsValid() {
		return out, true, nil
	}
	return v, false, nil
}

func (s *sealer) walkMap(v reflect.Value, depth int) (reflect.Value, bool, error) {
	if v.IsNil() {
		return v, false, nil
	}
	keysMayHold := s.mayHold(v.Type().Key())
	var out reflect.Value
	it := v.MapRange()
	for it.Next() {
		if keysMayHold {
			if holds, err := s.holdsPlaintext(it.Key(), depth+1); err != nil {
				return v, false, err
			} else if holds {
				return v, false, fmt.Errorf("%w: a Sensitive value is used as a map key, where it would travel in clear; put it in a value", ErrInvalidRequest)
			}
		}
		nv, changed, err := s.walk(it.Value(), depth+1)
		if err != nil {
			return v, false, err
		}
		if !changed {
			continue
		}
		if !out.IsValid() {
			out = reflect.MakeMapWithSize(v.Type(), v.Len())
			cp := v.MapRange()
			for cp.Next() {
				out.SetMapIndex(cp.Key(), cp.Value())
			}
		}
		out.SetMapIndex(it.Key(), nv)
	}
	if out.IsValid() {
		return out, true, nil
	}
	return v, false, nil
}

// holdsPlaintext reports whether v, which reflection may only read, holds a
// non-empty Sensitive where json would write it.
func (s *sealer) holdsPlaintext(v reflect.Value, depth int) (bool, error) {
	if depth > maxSealDepth {
		return false, errDepth()
	}
	if v.Type() == sensitiveType {
		return v.String() != "", nil
	}
	if !s.mayHold(v.Type()) {
		return false, nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return false, nil
		}
		return s.holdsPlaintext(v.Elem(), depth+1)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if !jsonVisible(v.Type().Field(i)) {
				continue
			}
			if h, err := s.holdsPlaintext(v.Field(i), depth+1); h || err != nil {
				return h, err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if h, err := s.holdsPlaintext(it.Key(), depth+1); h || err != nil {
				return h, err
			}
			if h, err := s.holdsPlaintext(it.Value(), depth+1); h || err != nil {
				return h, err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if h, err := s.holdsPlaintext(v.Index(i), depth+1); h || err != nil {
				return h, err
			}
		}
	}
	return false, nil
}

// jsonVisible reports whether encoding/json writes a field (or, for an
// embedded struct, the fields it promotes).
func jsonVisible(f reflect.StructField) bool {
	if f.Tag.Get("json") == "-" {
		return false
	}
	if f.Anonymous {
		t := f.Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		return f.IsExported() || t.Kind() == reflect.Struct
	}
	return f.IsExported()
}

// mayHold reports whether a value of type t can contain a Sensitive. Interfaces
// can hold anything; the answer is cached per type.
func (s *sealer) mayHold(t reflect.Type) bool {
	if r, ok := s.types.Load(t); ok {
		return r.(bool)
	}
	r := typeMayHold(t, map[reflect.Type]bool{})
	s.types.Store(t, r)
	return r
}

func typeMayHold(t reflect.Type, visiting map[reflect.Type]bool) bool {
	if t == sensitiveType {
		return true
	}
	if visiting[t] {
		return false // recursion: the type's other fields decide
	}
	visiting[t] = true
	defer delete(visiting, t)
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return typeMayHold(t.Elem(), visiting)
	case reflect.Map:
		return typeMayHold(t.Key(), visiting) || typeMayHold(t.Elem(), visiting)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); jsonVisible(f) && typeMayHold(f.Type, visiting) {
				return true
			}
		}
	}
	return false
}
