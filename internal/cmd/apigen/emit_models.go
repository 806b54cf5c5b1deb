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

// goFile is a generated Go file: a body and the imports it uses.
type goFile struct {
	writer
	pkg     string
	imports map[string]bool
}

func newGoFile(pkg string) *goFile { return &goFile{pkg: pkg, imports: map[string]bool{}} }

// use records an import and returns the package's name for use in the body.
func (g *goFile) use(path string) string {
	g.imports[path] = true
	return path[strings.LastIndex(path, "/")+1:]
}

// source assembles the file.
func (g *goFile) source() []byte {
	var out writer
	out.WriteString(header)
	out.p("package %s\n", g.pkg)
	if len(g.imports) > 0 {
		var paths []string
		for p := range g.imports {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		out.p("import (")
		for _, p := range paths {
			out.p("%q", p)
		}
		out.p(")\n")
	}
	out.Write(g.Bytes())
	return out.Bytes()
}

const (
	importCore  = modulePath + "/core"
	importTyped = modulePath + "/internal/typed"
)

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

// goType is the Go type of a field inside model m; g records the imports.
func goType(g *goFile, f *field, m *model) string {
	elem := func(t string) string {
		switch t {
		case "string":
			switch {
			case f.y.Encrypted && isRequestDir(m):
				return g.use(importCore) + ".Sensitive"
			case f.y.Encrypted:
				return g.use(importCore) + ".Encrypted"
			case f.y.Personal:
				return g.use(importCore) + ".Personal"
			case f.Enum != nil:
				return f.Enum.GoName
			}
			return "string"
		case "integer":
			return "int64"
		case "number":
			return "float64"
		case "boolean":
			return "bool"
		case "object":
			return f.Model.GoName
		}
		panic("type " + t)
	}
	if f.Type == "array" {
		return "[]" + elem(f.Items)
	}
	if f.Type == "file" {
		return g.use("io") + ".Reader"
	}
	t := elem(f.Type)
	if !f.Required && f.Type != "string" {
		return "*" + t
	}
	return t
}

func jsonTag(f *field) string {
	if f.Location == "query" {
		return fmt.Sprintf(`json:"-" query:"%s"`, f.JSON)
	}
	if f.Upload != "" {
		return fmt.Sprintf(`json:"%s" upload:"%s"`, map[string]string{"file": "-", "filename": "filename"}[f.Upload], f.Upload)
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
	w        *goFile
	fam      *family
	patterns map[string]string // pattern → var name
}

// emitModels writes a family's enums, models and requests.
func emitModels(fam *family) []byte {
	g := &modelGen{w: newGoFile(fam.Package), fam: fam, patterns: map[string]string{}}
	for _, e := range fam.enums {
		g.enum(e)
	}
	for _, m := range fam.models {
		g.model(m)
	}
	var pats []string
	for p := range g.patterns {
		pats = append(pats, p)
	}
	sort.Strings(pats)
	if len(pats) > 0 {
		re := g.w.use("regexp")
		g.w.p("var (")
		for _, p := range pats {
			g.w.p("%s = %s.MustCompile(%s)", g.patterns[p], re, strconv.Quote(p))
		}
		g.w.p(")")
	}
	return g.w.source()
}

func (g *modelGen) enum(e *enum) {
	w := g.w
	w.comment("", sentence(e.GoName, e.Doc))
	w.p("type %s string\n", e.GoName)
	w.p("const (")
	for _, v := range e.Values {
		doc := v.Doc
		if doc == "" {
			doc = v.Value + "."
		}
		w.comment("\t", v.Const+": "+doc)
		w.p("\t%s %s = %q", v.Const, e.GoName, v.Value)
	}
	w.p(")\n")
	w.comment("", "Valid reports whether v is one of the documented values. New values may appear in\nresponses at any time; only requests are checked.")
	w.p("func (v %s) Valid() bool {", e.GoName)
	w.p("switch v {")
	var cs []string
	for _, v := range e.Values {
		cs = append(cs, v.Const)
	}
	w.p("case %s:\nreturn true", strings.Join(cs, ", "))
	w.p("}\nreturn false\n}\n")
}

func (g *modelGen) model(m *model) {
	w := g.w
	switch {
	case m.IsRequest && m.Op.y.Upload != nil:
		o := m.Op
		w.comment("", fmt.Sprintf("%s is the request of %s (%s %s): %s", m.GoName, o.ID, o.Method, o.Path, lowerFirst(o.y.Summary)),
			"It is sent as multipart/form-data: the meta part {\"filename\", \"sha256\"}, which the request is signed over, then the file.")
	case m.IsRequest:
		o := m.Op
		w.comment("", fmt.Sprintf("%s is the request of %s (%s %s): %s", m.GoName, o.ID, o.Method, o.Path, lowerFirst(o.y.Summary)),
			"Path parameters come from the call chain; fields marked as query parameters are sent in the URL, the others in the JSON body.")
	default:
		w.comment("", sentence(m.GoName, m.Doc))
	}
	w.p("type %s struct {", m.GoName)
	for _, f := range m.Fields {
		w.comment("\t", fieldDoc(f))
		w.p("\t%s %s `%s`", f.GoName, goType(w, f, m), jsonTag(f))
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
		requiredCheck := f.Required && (f.Type == "string" || f.Type == "array" || f.Type == "file")
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
	w := g.w
	w.p("func (m *%s) validate(v *%s.Validator) {", m.GoName, w.use(importTyped))
	for _, f := range m.Fields {
		loc := f.Location
		if loc == "path" {
			continue
		}
		name := strconv.Quote(f.JSON)
		acc := "m." + f.GoName
		switch {
		case f.Type == "file":
			w.p("v.Required(%q, %s, %s != nil)", loc, name, acc)
		case f.Type == "string":
			sv := acc
			if goType(w, f, m) != "string" {
				sv = "string(" + acc + ")"
			}
			if f.Required {
				w.p("v.Required(%q, %s, %s != \"\")", loc, name, acc)
			}
			if f.y.MaxLength > 0 && !f.y.Encrypted {
				w.p("v.MaxLen(%q, %s, %s, %d)", loc, name, sv, f.y.MaxLength)
			}
			if f.Enum != nil {
				w.p("v.Enum(%q, %s, %s, %s.Valid())", loc, name, sv, acc)
			}
			if f.y.Pattern != "" {
				w.p("v.Pattern(%q, %s, %s, %s)", loc, name, sv, g.patternVar(f.y.Pattern))
			}
			if f.Upload == "filename" {
				w.p("v.Extension(%q, %s, %s, op%s.Upload)", loc, name, sv, m.Op.ID)
			}
		case f.Type == "array":
			if f.Required {
				w.p("v.Required(%q, %s, len(%s) > 0)", loc, name, acc)
			}
			switch {
			case f.Items == "object" && needsValidation(f.Model, map[*model]bool{}):
				w.p("for i := range %s {", acc)
				w.p("v.EnterIndex(%s, i)\n%s[i].validate(v)\nv.Leave(2)\n}", name, acc)
			case f.Items == "string" && (f.Enum != nil || f.y.MaxLength > 0 && !f.y.Encrypted || f.y.Pattern != ""):
				w.p("for i, e := range %s {", acc)
				w.p("v.Enter(%s)", name)
				w.p("item := %s.Itoa(i)", w.use("strconv"))
				if f.Enum != nil {
					w.p("v.Enum(%q, item, string(e), e.Valid())", loc)
				}
				if f.y.MaxLength > 0 && !f.y.Encrypted {
					w.p("v.MaxLen(%q, item, string(e), %d)", loc, f.y.MaxLength)
				}
				if f.y.Pattern != "" {
					w.p("v.Pattern(%q, item, string(e), %s)", loc, g.patternVar(f.y.Pattern))
				}
				w.p("v.Leave(1)\n}")
			}
		case f.Type == "object":
			if !needsValidation(f.Model, map[*model]bool{}) {
				continue
			}
			if f.Required {
				w.p("v.Enter(%s)\n%s.validate(v)\nv.Leave(1)", name, acc)
			} else {
				w.p("if %s != nil {\nv.Enter(%s)\n%s.validate(v)\nv.Leave(1)\n}", acc, name, acc)
			}
		}
	}
	w.p("}\n")
}

func (g *modelGen) requestMethods(m *model) {
	w := g.w
	o := m.Op
	w.comment("", "Validate checks the request against the documentation: required fields, lengths,\nenumerations and patterns. Typed calls run it before sending anything.")
	w.p("func (m *%s) Validate() error {", m.GoName)
	w.p("if m == nil {\nreturn %s.NilRequest(%q)\n}", w.use(importTyped), o.ID)
	if needsValidation(m, map[*model]bool{}) {
		w.p("v := %s.Validator{Op: %q}\nm.validate(&v)\nreturn v.Err()", w.use(importTyped), o.ID)
	} else {
		w.p("return nil")
	}
	w.p("}\n")
}

func (g *modelGen) decryptHelpers(m *model) {
	w := g.w
	for _, f := range m.Fields {
		if !f.y.Encrypted || f.Type != "string" && !(f.Type == "array" && f.Items == "string") {
			continue
		}
		core := w.use(importCore)
		if f.Type == "array" {
			w.comment("", fmt.Sprintf("Decrypt%s opens every value of %s with the merchant private key (a *wxpay.Client).", f.GoName, f.GoName))
			w.p("func (m *%s) Decrypt%s(d %s.Decrypter) ([]%s.Sensitive, error) {\nreturn %s.DecryptAll(d, m.%s)\n}\n", m.GoName, f.GoName, core, core, core, f.GoName)
			continue
		}
		w.comment("", fmt.Sprintf("Decrypt%s opens %s with the merchant private key (a *wxpay.Client).", f.GoName, f.GoName))
		w.p("func (m *%s) Decrypt%s(d %s.Decrypter) (%s.Sensitive, error) {\nreturn d.Decrypt(m.%s)\n}\n", m.GoName, f.GoName, core, core, f.GoName)
	}
}
