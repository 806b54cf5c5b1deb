package main

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Every operation carries a runnable example in its spec entry (example:),
// generated into the family's zz_example_test.go. It starts the emulator
// (wxpaytest), makes the call with the example's values and prints the status
// and the answer fields the example names; the expected output is part of the
// spec, so an example that stops working fails the tests.
//
// Values that start with $ name a fixture of the emulator: $DemoCardID is
// emulator.DemoCardID. An upload's file is the example's file: value (the
// content, as a string) or, for a .png filename without one, a small PNG. A
// file answer (stream) is written to a buffer and printed as text, CRLF line
// ends as LF. Printed names may be paths into nested objects: amount.total.

const (
	importWxpaytest = modulePath + "/wxpaytest"
	importEmulator  = modulePath + "/emulator"
)

// emitExamples writes the runnable examples of a family's operations, or nil
// when it has none.
func emitExamples(f *family, root *node) []byte {
	byOp := map[*op]*node{}
	walk(root, func(n *node) {
		for _, o := range n.ops {
			byOp[o] = n
		}
	})
	g := newGoFile(f.Package + "_test")
	n := 0
	for _, o := range f.ops {
		if o.y.Example == nil {
			continue
		}
		emitExample(g, f, byOp[o], o)
		n++
	}
	if n == 0 {
		return nil
	}
	if strings.Contains(g.String(), "ptr[") {
		g.comment("", "ptr points at a value, for optional fields.")
		g.p("func ptr[T any](v T) *T { return &v }")
	}
	return g.source()
}

func emitExample(g *goFile, f *family, n *node, o *op) {
	ex := o.y.Example
	pkg := g.use(f.importPath())
	g.comment("", fmt.Sprintf("%s %s: %s", o.Method, o.Path, strings.TrimSuffix(o.y.Summary, ".")+"."))
	g.p("func Example%s_%s() {", n.typeName, methodName(o.Method))
	g.p("srv := %s.NewServer()\ndefer srv.Close()\nclient := srv.Client()\n", g.use(importWxpaytest))

	// The chain, with the example's path parameters.
	call := "client.V3"
	for _, seg := range strings.Split(strings.TrimPrefix(o.Path, "/v3/"), "/") {
		if strings.HasPrefix(seg, "{") {
			name := strings.Trim(seg, "{}")
			call += fmt.Sprintf(".%s(%s)", goName(name), exampleString(g, ex.Path[name]))
			continue
		}
		call += "." + goName(seg)
	}
	call += "." + methodName(o.Method) + "(" + g.use("context") + ".Background()"
	if o.Request != nil {
		call += ", &" + pkg + "." + o.Request.GoName + exampleObject(g, pkg, o.Request, exampleRequest(o))
	}
	if o.Stream {
		g.p("var file %s.Buffer", g.use("bytes"))
		call += ", &file"
	}
	call += ")"
	switch {
	case o.Response != nil && len(ex.Print) > 0:
		g.p("out, resp, err := %s", call)
	case o.Response != nil: // an answer with nothing worth printing (random tokens, say)
		g.p("_, resp, err := %s", call)
	default:
		g.p("resp, err := %s", call)
	}
	fmtPkg := g.use("fmt")
	g.p("if err != nil {\n%s.Println(err)\nreturn\n}", fmtPkg)
	g.p("%s.Println(\"status:\", resp.StatusCode)", fmtPkg)
	if o.Stream {
		g.p("%s.Print(%s.ReplaceAll(file.String(), \"\\r\\n\", \"\\n\"))", fmtPkg, g.use("strings"))
	}
	for _, name := range ex.Print {
		conds, acc, fl := printPath(o.Response, name)
		if fl.Type == "array" {
			acc = "len(" + acc + ")"
			name += " count"
		}
		line := fmt.Sprintf("%s.Println(%q, %s)", fmtPkg, name+":", acc)
		if len(conds) > 0 {
			line = "if " + strings.Join(conds, " && ") + " {\n" + line + "\n}"
		}
		g.p("%s", line)
	}
	g.p("// Output:")
	for _, line := range strings.Split(strings.TrimRight(ex.Output, "\n"), "\n") {
		g.p("// %s", line)
	}
	g.p("}\n")
}

// printPath resolves a printed name — a field of the answer, or a dotted path
// into its nested objects (amount.total) — to the Go expression of its value
// and the nil checks that guard it; nil when the answer has no such field.
func printPath(m *model, path string) (conds []string, expr string, fl *field) {
	expr = "out"
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		if fl = fieldByJSON(m, seg); fl == nil {
			return nil, "", nil
		}
		expr += "." + fl.GoName
		last := i == len(segs)-1
		if !last && fl.Type != "object" {
			return nil, "", nil
		}
		if !fl.Required && fl.Type != "string" && fl.Type != "array" { // a pointer
			conds = append(conds, expr+" != nil")
			if last && fl.Type != "object" {
				expr = "*" + expr
			}
		}
		m = fl.Model
	}
	return conds, expr, fl
}

// exampleRequest is the example's request values, with an upload's file
// content filled in when the example leaves it to the filename (.png).
func exampleRequest(o *op) map[string]any {
	vals := o.y.Example.Request
	for _, f := range o.Body {
		if f.Upload != "file" {
			continue
		}
		if _, given := vals[f.JSON]; given {
			break
		}
		out := map[string]any{f.JSON: samplePNG()}
		for k, v := range vals {
			out[k] = v
		}
		return out
	}
	return vals
}

// samplePNGHex is a 16×16 PNG in WeChat green (#07C160), the file of upload
// examples whose filename is a .png; fixed bytes, so that the generated code
// does not depend on the encoder of the Go version that runs the generator.
const samplePNGHex = "89504e470d0a1a0a0000000d4948445200000010000000100103000000253d6d2200000003504c544507c1603d66ac080000000f4944415478da62201100020000ffff00300001cba8e3410000000049454e44ae426082"

func samplePNG() string {
	b, err := hex.DecodeString(samplePNGHex)
	if err != nil {
		panic(err) // a constant
	}
	return string(b)
}

// bytesLiteral renders content as a Go string literal, printable ASCII as is
// and every other byte as \xNN.
func bytesLiteral(content string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(content); i++ {
		switch c := content[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\x%02x", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func fieldByJSON(m *model, name string) *field {
	if m != nil {
		for _, f := range m.Fields {
			if f.JSON == name {
				return f
			}
		}
	}
	return nil
}

// exampleString renders a string value: a fixture reference or a literal.
func exampleString(g *goFile, v any) string {
	s := fmt.Sprint(v)
	if strings.HasPrefix(s, "$") {
		return g.use(importEmulator) + "." + s[1:]
	}
	return strconv.Quote(s)
}

// exampleObject renders the literal body {…} of a model from example values.
func exampleObject(g *goFile, pkg string, m *model, vals map[string]any) string {
	var parts []string
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	order := map[string]int{}
	for i, f := range m.Fields {
		order[f.JSON] = i
	}
	sort.Slice(names, func(i, j int) bool { return order[names[i]] < order[names[j]] })
	for _, name := range names {
		f := fieldByJSON(m, name)
		parts = append(parts, f.GoName+": "+exampleValue(g, pkg, f, m, vals[name], false))
	}
	if len(parts) == 0 {
		return "{}"
	}
	return "{\n" + strings.Join(parts, ",\n") + ",\n}"
}

// exampleValue renders one field value; elem is true inside an array.
func exampleValue(g *goFile, pkg string, f *field, m *model, v any, elem bool) string {
	t := f.Type
	if elem {
		t = f.Items
	}
	pointer := !elem && !f.Required && t != "string" && t != "array"
	switch t {
	case "array":
		list, _ := v.([]any)
		var items []string
		for _, it := range list {
			items = append(items, exampleValue(g, pkg, f, m, it, true))
		}
		elemType := strings.TrimPrefix(goType(g, f, m), "[]")
		if f.Model != nil || f.Enum != nil {
			elemType = pkg + "." + elemType
		}
		return "[]" + elemType + "{" + strings.Join(items, ", ") + "}"
	case "object":
		lit := pkg + "." + f.Model.GoName + exampleObject(g, pkg, f.Model, v.(map[string]any))
		if pointer {
			return "&" + lit
		}
		return lit
	case "string":
		if f.Enum != nil {
			for _, ev := range f.Enum.Values {
				if ev.Value == fmt.Sprint(v) {
					return pkg + "." + ev.Const
				}
			}
		}
		return exampleString(g, v)
	case "file": // an upload's content
		return g.use("bytes") + ".NewReader([]byte(" + bytesLiteral(fmt.Sprint(v)) + "))"
	case "integer", "number", "boolean":
		lit := fmt.Sprint(v)
		if !pointer {
			return lit
		}
		goT := map[string]string{"integer": "int64", "number": "float64", "boolean": "bool"}[t]
		return fmt.Sprintf("ptr[%s](%s)", goT, lit)
	}
	panic("example of type " + t)
}
