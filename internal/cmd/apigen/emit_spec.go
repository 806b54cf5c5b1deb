package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// emitSpec writes the spec as Go data for the emulator (package apispec).
func emitSpec(s *spec) []byte {
	var w writer
	w.WriteString(header)
	w.p("package apispec\n")
	for _, m := range s.modelList {
		if m.IsRequest {
			continue
		}
		w.p("var model%s = %s\n", m.Name, fieldList(m.Fields))
	}
	w.p("var operations = []*Operation{")
	for _, o := range s.ops {
		y := o.y
		w.p("{")
		w.p("ID: %q, Family: %q, Method: %q, Path: %q,", o.ID, o.Family, o.Method, o.Path)
		w.p("Summary: %q, TitleZh: %q,", y.Summary, y.TitleZh)
		w.p("Docs: %s, Callers: %s,", strs(y.Docs), strs(y.Callers))
		if y.RateLimit > 0 {
			w.p("RateLimit: %d,", y.RateLimit)
		}
		if o.Method != "POST" || y.Idempotent {
			w.p("Idempotent: true,")
		}
		if y.Legacy != "" {
			w.p("Legacy: %q,", y.Legacy)
		}
		if len(o.PathParams) > 0 {
			w.p("PathParams: %s,", fieldList(o.PathParams))
		}
		if len(o.Query) > 0 {
			w.p("Query: %s,", fieldList(o.Query))
		}
		if o.HasBody {
			w.p("HasBody: true, Body: %s,", fieldList(o.Body))
		}
		if o.Stream {
			w.p("ResponseStream: true,")
		}
		if o.y.List != nil {
			w.p("ListOffset: %q,", o.y.List.Offset)
		}
		if u := o.y.Upload; u != nil {
			var lims []string
			for _, ext := range uploadExts(u) {
				lims = append(lims, fmt.Sprintf("%q: %d", ext, u.Limits[ext]))
			}
			w.p("Upload: map[string]int64{%s},", strings.Join(lims, ", "))
		}
		w.p("ResponseStatus: %d, ResponseDocumented: %v,", o.Status, o.Documented)
		if o.Response != nil {
			w.p("ResponseModel: %q, Response: model%s,", o.Response.Name, o.Response.Name)
		}
		if len(y.Errors) > 0 {
			w.p("Errors: []Error{")
			for _, e := range y.Errors {
				w.p("{Status: %d, Code: %q, Message: %q, Doc: %q},", e.Status, e.Code, e.Message, e.Doc)
			}
			w.p("},")
		}
		w.p("},")
	}
	w.p("}\n")
	w.p("var events = []*Event{")
	for _, e := range s.events {
		y := e.y
		w.p("{EventType: %q, Model: %q, OriginalType: %q, SummaryZh: %q, Summary: %q, Docs: %s, Retry: %q, Fields: model%s},",
			y.EventType, e.Model.Name, y.OriginalType, y.SummaryZh, y.Summary, strs(y.Docs), y.Retry, e.Model.Name)
	}
	w.p("}")
	return w.Bytes()
}

func strs(ss []string) string {
	if len(ss) == 0 {
		return "nil"
	}
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}

var specTypes = map[string]string{"string": "String", "integer": "Integer", "number": "Number", "boolean": "Boolean", "object": "Object", "array": "Array", "file": "File"}

func fieldList(fs []*field) string {
	var b strings.Builder
	b.WriteString("[]*Field{\n")
	for _, f := range fs {
		y := f.y
		fmt.Fprintf(&b, "{Name: %q, Type: %s", f.JSON, specTypes[f.Type])
		if f.Items != "" {
			fmt.Fprintf(&b, ", Items: %s", specTypes[f.Items])
		}
		if f.Required {
			b.WriteString(", Required: true")
		}
		if y.MaxLength > 0 {
			fmt.Fprintf(&b, ", MaxLength: %d", y.MaxLength)
		}
		if f.Enum != nil {
			var vs []string
			for _, v := range f.Enum.Values {
				vs = append(vs, v.Value)
			}
			fmt.Fprintf(&b, ", Enum: %s, EnumName: %q", strs(vs), f.Enum.Name)
		}
		if y.Pattern != "" {
			fmt.Fprintf(&b, ", Pattern: %q", y.Pattern)
		}
		if y.Encrypted {
			b.WriteString(", Encrypted: true")
		}
		if y.Personal {
			b.WriteString(", Personal: true")
		}
		if y.JSONString {
			b.WriteString(", JSONString: true")
		}
		if f.Model != nil {
			fmt.Fprintf(&b, ", Model: %q, Fields: model%s", f.Model.Name, f.Model.Name)
		}
		fmt.Fprintf(&b, ", Doc: %q},\n", y.Doc)
	}
	b.WriteString("}")
	return b.String()
}

const (
	tableBegin = "<!-- BEGIN GENERATED OPERATIONS (go generate ./...) -->"
	tableEnd   = "<!-- END GENERATED OPERATIONS -->"
)

// updateReadme replaces the text between the README's markers.
func updateReadme(path string, table []byte) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	i, j := bytes.Index(b, []byte(tableBegin)), bytes.Index(b, []byte(tableEnd))
	if i < 0 || j < i {
		return fmt.Errorf("%s: markers %q … %q not found", path, tableBegin, tableEnd)
	}
	var out bytes.Buffer
	out.Write(b[:i+len(tableBegin)])
	out.WriteString("\n")
	out.Write(table)
	out.Write(b[j:])
	return writeIfChanged(path, out.Bytes())
}

// emitEvents writes the notify package's event registry.
func emitEvents(s *spec) []byte {
	g := newGoFile("notify")
	g.p("// Event types of the spec, the value of Notification.EventType.")
	g.p("const (")
	for _, e := range s.events {
		fam := e.Model.Family
		g.comment("\t", fmt.Sprintf("%s: %s (%s) Decrypted resource: *%s.%s.", eventConst(e.y.EventType), e.y.Summary, e.y.SummaryZh, fam.Package, e.Model.GoName))
		g.p("%s = %q", eventConst(e.y.EventType), e.y.EventType)
	}
	g.p(")\n")
	g.comment("", "newEvent returns a pointer to the model of an event type for the decrypted\nresource, or nil for a type the spec does not know.")
	g.p("func newEvent(eventType string, resource []byte) any {\nswitch eventType {")
	for _, e := range s.events {
		g.p("case %s:", eventConst(e.y.EventType))
		for _, v := range e.Variants {
			if v.Has != "" {
				g.p("if hasMember(resource, %q) {\nreturn new(%s.%s)\n}", v.Has, g.use(v.Model.Family.importPath()), v.Model.GoName)
			}
		}
		g.p("return new(%s.%s)", g.use(e.Model.Family.importPath()), e.Model.GoName)
	}
	g.p("}\nreturn nil\n}")
	return g.source()
}

// eventConst: MEMBERCARD.ACTIVATE_CARD → EventMembercardActivateCard.
func eventConst(t string) string {
	return "Event" + goName(strings.ToLower(t))
}

// emitRootDoc writes package apiv3's documentation: which package holds which
// family.
func emitRootDoc(s *spec) []byte {
	var lines []string
	for _, f := range s.families {
		lines = append(lines, fmt.Sprintf("  - %-16s %s/… (%s, api/%s)", f.Package, familyBase(f), f.Name, f.File))
	}
	var w writer
	w.comment("", "Package apiv3 is the typed WeChat Pay APIv3, generated from the spec in api/: the top\n"+
		"of the URL-mirroring chain (V3, which every wxpay.Client holds as client.V3) and, below\n"+
		"it, one package per product family with its requests, answers, enums and the rest of\n"+
		"the chain. The URL tells you the package:",
		strings.Join(lines, "\n"),
		"The README's operations table maps every official path to its call.")
	out := newGoFile("apiv3")
	out.Write(w.Bytes())
	return docSource(out)
}

// emitFamilyDoc writes a family package's documentation with its operations.
func emitFamilyDoc(f *family, root *node) []byte {
	byOp := map[*op]*node{}
	walk(root, func(n *node) {
		for _, o := range n.ops {
			byOp[o] = n
		}
	})
	var ops []string
	for _, o := range f.ops {
		call := byOp[o].goExpr + "." + methodName(o.Method)
		ops = append(ops, fmt.Sprintf("  - %s %s\n    %s", o.Method, o.Path, call))
	}
	intro := fmt.Sprintf("Package %s is the %s family of WeChat Pay APIv3 (%s/…), generated from api/%s.", f.Package, f.Name, familyBase(f), f.File)
	if f.Doc != "" {
		intro += "\n" + strings.TrimSpace(f.Doc)
	}
	var w writer
	w.comment("", intro,
		"Call it through a client, whose V3 field mirrors the URLs; requests are validated\n"+
			"before anything is sent, Sensitive fields encrypted, answers verified. The types\n"+
			"core.Response, core.Future and core.CallOption of the signatures are wxpay.Response,\n"+
			"wxpay.Future and wxpay.CallOption.",
		"Operations:\n"+strings.Join(ops, "\n"))
	out := newGoFile(f.Package)
	out.Write(w.Bytes())
	return docSource(out)
}

// docSource puts a package comment in front of the package clause.
func docSource(g *goFile) []byte {
	var out writer
	out.WriteString(header)
	out.Write(g.Bytes())
	out.p("package %s", g.pkg)
	return out.Bytes()
}
