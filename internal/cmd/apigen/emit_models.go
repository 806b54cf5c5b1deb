package main

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

type writer struct{ bytes.Buffer }

func (w *writer) p(format string, a ...any) { fmt.Fprintf(&w.Buffer, format, a...); w.WriteByte('\n') }

// comment writes text as a // comment, one paragraph per element.
func (w *writer) comment(indent string, paragraphs ...string) {
	first := true
	for _, para := range paragraphs {
		if para == "" {
			continue
		}
		if !first {
			w.p("%s//", indent)
		}
		first = false
		for _, line := range strings.Split(para, "\n") {
			w.p("%s// %s", indent, line)
		}
	}
}

// sentence makes a doc phrase into a sentence that starts with the identifier.
func sentence(name, doc string) string {
	doc = strings.TrimSpace(doc)
	if doc == "" {
		return name + " is undocumented."
	}
	if !strings.HasSuffix(doc, ".") && !strings.HasSuffix(doc, "。") {
		doc += "."
	}
	return name + " is " + lowerFirst(doc)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	// Keep acronyms and proper names: lower only a capital followed by a lower-case letter.
	if len(r) > 1 && r[0] >= 'A' && r[0] <= 'Z' && r[1] >= 'a' && r[1] <= 'z' {
		r[0] += 'a' - 'A'
	}
	return string(r)
}

func isRequestDir(m *model) bool { return m.Dir&dirRequest != 0 }

// goType is the Go type of a field inside model m.
func goType(f *field, m *model) string {
	elem := func(t string) string {
		switch t {
		case "string":
			switch {
			case f.y.Encrypted && isRequestDir(m):
				return "Sensitive"
			case f.y.Encrypted:
				return "Encrypted"
			case f.y.Personal:
				return "Personal"
			case f.Enum != nil:
				return f.Enum.Name
			}
			return "string"
		case "integer":
			return "int64"
		case "number":
			return "float64"
		case "boolean":
			return "bool"
		case "object":
			return f.Model.Name
		}
		panic("type " + t)
	}
	if f.Type == "array" {
		return "[]" + elem(f.Items)
	}
	t := elem(f.Type)
	if !f.Required && f.Type != "string" {
		return "*" + t
	}
	return t
}

func jsonTag(f *field) string {
	if f.Location == "query" {
		return `json:"-"`
	}
	if f.Required && f.Type != "array" {
		return fmt.Sprintf(`json:"%s"`, f.JSON)
	}
	return fmt.Sprintf(`json:"%s,omitempty"`, f.JSON)
}

func fieldDoc(f *field) string {
	var parts []string
	d := strings.TrimSpace(f.y.Doc)
	if d == "" {
		d = f.JSON
	}
	if !strings.HasSuffix(d, ".") {
		d += "."
	}
	parts = append(parts, f.GoName+" is the "+lowerFirst(d))
	var notes []string
	if f.Location == "query" {
		notes = append(notes, "Query parameter "+f.JSON+".")
	}
	if f.Required {
		notes = append(notes, "Required.")
	}
	if f.y.MaxLength > 0 {
		notes = append(notes, fmt.Sprintf("At most %d characters.", f.y.MaxLength))
	}
	if f.y.Pattern != "" {
		notes = append(notes, "Must match "+f.y.Pattern+".")
	}
	if f.y.JSONString {
		notes = append(notes, "A JSON document carried as a string.")
	}
	if len(notes) > 0 {
		parts[0] += " " + strings.Join(notes, " ")
	}
	return parts[0]
}

type modelGen struct {
	w        writer
	s        *spec
	patterns map[string]string // pattern → var name
}

func emitModels(s *spec) []byte {
	g := &modelGen{s: s, patterns: map[string]string{}}
	w := &g.w
	w.WriteString(header)
	w.p("package wxpay\n")
	w.p("import (\n\"context\"\n\"net/url\"\n\"regexp\"\n\"strconv\"\n)\n")
	w.p("var _ = strconv.Itoa // not every spec has integer query parameters\n")
	w.p("var _ context.Context\n")

	var enumNames []string
	for n := range s.enums {
		enumNames = append(enumNames, n)
	}
	sort.Strings(enumNames)
	for _, n := range enumNames {
		g.enum(s.enums[n])
	}
	for _, m := range s.modelList {
		g.model(m)
	}
	var pats []string
	for p := range g.patterns {
		pats = append(pats, p)
	}
	sort.Strings(pats)
	if len(pats) > 0 {
		w.p("var (")
		for _, p := range pats {
			w.p("%s = regexp.MustCompile(%s)", g.patterns[p], strconv.Quote(p))
		}
		w.p(")")
	} else {
		w.p("var _ = regexp.MustCompile")
	}
	return w.Bytes()
}

func (g *modelGen) enum(e *enum) {
	w := &g.w
	w.comment("", sentence(e.Name, e.Doc))
	w.p("type %s string\n", e.Name)
	w.p("const (")
	for _, v := range e.Values {
		doc := v.Doc
		if doc == "" {
			doc = v.Value + "."
		}
		w.comment("\t", v.Const+": "+doc)
		w.p("\t%s %s = %q", v.Const, e.Name, v.Value)
	}
	w.p(")\n")
	w.comment("", "Valid reports whether v is one of the documented values. New values may appear in\nresponses at any time; only requests are checked.")
	w.p("func (v %s) Valid() bool {", e.Name)
	w.p("switch v {")
	var cs []string
	for _, v := range e.Values {
		cs = append(cs, v.Const)
	}
	w.p("case %s:\nreturn true", strings.Join(cs, ", "))
	w.p("}\nreturn false\n}\n")
}

func (g *modelGen) model(m *model) {
	w := &g.w
	switch {
	case m.IsRequest:
		o := m.Op
		w.comment("", fmt.Sprintf("%s is the request of %s (%s %s): %s", m.Name, o.ID, o.Method, o.Path, lowerFirst(o.y.Summary)),
			"Path parameters come from the call chain; fields marked as query parameters are sent in the URL, the others in the JSON body.")
	default:
		w.comment("", sentence(m.Name, m.Doc))
	}
	w.p("type %s struct {", m.Name)
	for _, f := range m.Fields {
		w.comment("\t", fieldDoc(f))
		w.p("\t%s %s `%s`", f.GoName, goType(f, m), jsonTag(f))
	}
	w.p("}\n")

	if isRequestDir(m) {
		g.validate(m)
	}
	if m.IsRequest {
		g.requestMethods(m)
	}
	if m.Dir&dirResponse != 0 {
		g.decryptHelpers(m)
	}
}

// needsValidation reports whether validate would check anything in m.
func needsValidation(m *model, seen map[*model]bool) bool {
	if seen[m] {
		return false
	}
	seen[m] = true
	for _, f := range m.Fields {
		y := f.y
		// Only strings and arrays can be checked for presence: required numbers,
		// booleans and objects are value types.
		requiredCheck := f.Required && (f.Type == "string" || f.Type == "array")
		if f.Location == "path" {
			continue
		}
		if requiredCheck || y.MaxLength > 0 && !y.Encrypted || f.Enum != nil || y.Pattern != "" ||
			f.Model != nil && needsValidation(f.Model, seen) {
			return true
		}
	}
	return false
}

func (g *modelGen) patternVar(p string) string {
	if v, ok := g.patterns[p]; ok {
		return v
	}
	v := fmt.Sprintf("pattern%d", len(g.patterns))
	g.patterns[p] = v
	return v
}

func (g *modelGen) validate(m *model) {
	if !needsValidation(m, map[*model]bool{}) {
		return
	}
	w := &g.w
	w.p("func (m *%s) validate(v *validator) {", m.Name)
	for _, f := range m.Fields {
		loc := f.Location
		if loc == "path" {
			continue
		}
		name := strconv.Quote(f.JSON)
		acc := "m." + f.GoName
		switch {
		case f.Type == "string":
			sv := acc
			if goType(f, m) != "string" {
				sv = "string(" + acc + ")"
			}
			if f.Required {
				w.p("v.required(%q, %s, %s != \"\")", loc, name, acc)
			}
			if f.y.MaxLength > 0 && !f.y.Encrypted {
				w.p("v.maxLen(%q, %s, %s, %d)", loc, name, sv, f.y.MaxLength)
			}
			if f.Enum != nil {
				w.p("v.enum(%q, %s, %s, %s.Valid())", loc, name, sv, acc)
			}
			if f.y.Pattern != "" {
				w.p("v.pattern(%q, %s, %s, %s)", loc, name, sv, g.patternVar(f.y.Pattern))
			}
		case f.Type == "array":
			if f.Required {
				w.p("v.required(%q, %s, len(%s) > 0)", loc, name, acc)
			}
			switch {
			case f.Items == "object" && needsValidation(f.Model, map[*model]bool{}):
				w.p("for i := range %s {", acc)
				w.p("v.enterIndex(%s, i)\n%s[i].validate(v)\nv.leave(2)\n}", name, acc)
			case f.Items == "string" && (f.Enum != nil || f.y.MaxLength > 0 && !f.y.Encrypted || f.y.Pattern != ""):
				w.p("for i, e := range %s {", acc)
				w.p("v.enter(%s)", name)
				w.p("item := strconv.Itoa(i)")
				if f.Enum != nil {
					w.p("v.enum(%q, item, string(e), e.Valid())", loc)
				}
				if f.y.MaxLength > 0 && !f.y.Encrypted {
					w.p("v.maxLen(%q, item, string(e), %d)", loc, f.y.MaxLength)
				}
				if f.y.Pattern != "" {
					w.p("v.pattern(%q, item, string(e), %s)", loc, g.patternVar(f.y.Pattern))
				}
				w.p("v.leave(1)\n}")
			}
		case f.Type == "object":
			if !needsValidation(f.Model, map[*model]bool{}) {
				continue
			}
			if f.Required {
				w.p("v.enter(%s)\n%s.validate(v)\nv.leave(1)", name, acc)
			} else {
				w.p("if %s != nil {\nv.enter(%s)\n%s.validate(v)\nv.leave(1)\n}", acc, name, acc)
			}
		}
	}
	w.p("}\n")
}

func (g *modelGen) requestMethods(m *model) {
	w := &g.w
	o := m.Op
	w.comment("", "Validate checks the request against the documentation: required fields, lengths,\nenumerations and patterns. Typed calls run it before sending anything.")
	w.p("func (m *%s) Validate() error {", m.Name)
	w.p("if m == nil {\nreturn errNilRequest(%q)\n}", o.ID)
	if needsValidation(m, map[*model]bool{}) {
		w.p("v := validator{op: %q}\nm.validate(&v)\nreturn v.err()", o.ID)
	} else {
		w.p("return nil")
	}
	w.p("}\n")

	w.p("func (m *%s) encodeQuery(c *Client) (url.Values, bool, error) {", m.Name)
	if len(o.Query) == 0 {
		w.p("return url.Values{}, false, nil\n}\n")
		return
	}
	w.p("q := make(url.Values, %d)\nsealed := false\n_ = sealed", len(o.Query))
	for _, f := range o.Query {
		acc := "m." + f.GoName
		switch {
		case f.Type == "string" && f.y.Encrypted:
			w.p("if %s != \"\" {", acc)
			w.p("ct, err := c.Encrypt(string(%s))\nif err != nil {\nreturn nil, false, err\n}", acc)
			w.p("q.Set(%q, ct)\nsealed = true\n}", f.JSON)
		case f.Type == "string" && f.Enum == nil:
			w.p("if %s != \"\" {\nq.Set(%q, %s)\n}", acc, f.JSON, acc)
		case f.Type == "string":
			w.p("if %s != \"\" {\nq.Set(%q, string(%s))\n}", acc, f.JSON, acc)
		case f.Type == "integer" && f.Required:
			w.p("q.Set(%q, strconv.FormatInt(%s, 10))", f.JSON, acc)
		case f.Type == "integer":
			w.p("if %s != nil {\nq.Set(%q, strconv.FormatInt(*%s, 10))\n}", acc, f.JSON, acc)
		default:
			panic(o.ID + ": query type " + f.Type)
		}
	}
	w.p("return q, sealed, nil\n}\n")
}

func (g *modelGen) decryptHelpers(m *model) {
	w := &g.w
	for _, f := range m.Fields {
		if !f.y.Encrypted || f.Type != "string" && !(f.Type == "array" && f.Items == "string") {
			continue
		}
		if f.Type == "array" {
			w.comment("", fmt.Sprintf("Decrypt%s opens every value of %s with the merchant private key.", f.GoName, f.GoName))
			w.p("func (m *%s) Decrypt%s(d Decrypter) ([]Sensitive, error) {\nreturn decryptAll(d, m.%s)\n}\n", m.Name, f.GoName, f.GoName)
			continue
		}
		w.comment("", fmt.Sprintf("Decrypt%s opens %s with the merchant private key.", f.GoName, f.GoName))
		w.p("func (m *%s) Decrypt%s(d Decrypter) (Sensitive, error) {\nreturn d.Decrypt(m.%s)\n}\n", m.Name, f.GoName, f.GoName)
	}
}
