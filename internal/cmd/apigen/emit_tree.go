package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// node is one URL segment of the typed chain client.V3.….
type node struct {
	seg      string // literal segment, or "" for a parameter
	param    string // parameter name for {param} segments
	path     string // template up to here
	params   []string
	parent   *node
	children []*node
	ops      []*op
	fam      *family // the package the node's type lives in; nil: package apiv3
	typeName string
	goExpr   string // client.V3.… expression reaching this node, for docs
}

func (n *node) pkg() string {
	if n.fam == nil {
		return "apiv3"
	}
	return n.fam.Package
}

// exported reports whether other packages construct the node: a family's
// topmost nodes hang below package apiv3's.
func (n *node) exported() bool { return n.fam != nil && n.parent != nil && n.parent.fam == nil }

func buildTree(s *spec) (*node, error) {
	root := &node{seg: "v3", path: "/v3", goExpr: "client.V3", typeName: "V3"}
	for _, o := range s.ops {
		segs := strings.Split(strings.TrimPrefix(o.Path, "/"), "/")
		if segs[0] != "v3" {
			return nil, fmt.Errorf("%s: path must start with /v3/", o.ID)
		}
		n := root
		for _, seg := range segs[1:] {
			var child *node
			param := ""
			if strings.HasPrefix(seg, "{") {
				param = strings.Trim(seg, "{}")
			}
			// Two operations may name the parameter at one position differently
			// (…/refunds/{out_refund_no} and …/refunds/{refund_id}/…): each name
			// is its own method, OutRefundNo(…) and RefundID(…).
			for _, c := range n.children {
				if param != "" && c.param == param || param == "" && c.param == "" && c.seg == seg {
					child = c
				}
			}
			if child == nil {
				child = &node{seg: seg, param: param, path: n.path + "/" + seg, params: n.params, parent: n}
				if param != "" {
					child.seg = ""
					child.params = append(append([]string(nil), n.params...), param)
					child.goExpr = fmt.Sprintf("%s.%s(%s)", n.goExpr, goName(param), lowerName(param))
				} else {
					child.goExpr = n.goExpr + "." + goName(seg)
				}
				n.children = append(n.children, child)
			}
			n = child
		}
		for _, prev := range n.ops {
			if prev.Method == o.Method {
				return nil, fmt.Errorf("%s and %s are both %s %s", prev.ID, o.ID, o.Method, o.Path)
			}
		}
		n.ops = append(n.ops, o)
	}
	if err := assignFamilies(root); err != nil {
		return nil, err
	}
	nameNodes(s, root)
	return root, checkTreeNames(s, root)
}

// assignFamilies puts each node in the package of the one family whose
// operations lie at or below it; a node above several families stays in
// package apiv3.
func assignFamilies(root *node) error {
	var visit func(n *node) (*family, bool, error)
	visit = func(n *node) (*family, bool, error) {
		var fam *family
		mixed := false
		take := func(f *family) {
			if fam == nil {
				fam = f
			} else if f != fam {
				mixed = true
			}
		}
		for _, o := range n.ops {
			take(o.Fam)
		}
		for _, c := range n.children {
			f, m, err := visit(c)
			if err != nil {
				return nil, false, err
			}
			if m {
				mixed = true
			} else if f != nil {
				take(f)
			}
		}
		if mixed && len(n.ops) > 0 {
			return nil, false, fmt.Errorf("%s: operations of several families meet at one node; give one family the whole subtree", n.path)
		}
		if !mixed && n.parent != nil {
			n.fam = fam
		}
		return fam, mixed || n.parent == nil, nil
	}
	_, _, err := visit(root)
	if err != nil {
		return err
	}
	var check func(n *node) error
	check = func(n *node) error {
		if n.exported() && n.param != "" {
			return fmt.Errorf("%s: a family's topmost node cannot be a path parameter", n.path)
		}
		for _, c := range n.children {
			if err := check(c); err != nil {
				return err
			}
		}
		return nil
	}
	return check(root)
}

// familyBase is the longest literal path prefix of all of a family's operations.
func familyBase(fam *family) string {
	var base []string
	for i, o := range fam.ops {
		segs := strings.Split(strings.TrimPrefix(o.Path, "/"), "/")
		lit := segs[:0:0]
		for _, s := range segs[:len(segs)-1] { // the last segment names an endpoint
			if strings.HasPrefix(s, "{") {
				break
			}
			lit = append(lit, s)
		}
		if i == 0 {
			base = lit
			continue
		}
		n := 0
		for n < len(base) && n < len(lit) && base[n] == lit[n] {
			n++
		}
		base = base[:n]
	}
	return "/" + strings.Join(base, "/")
}

// nameNodes names node types. In package apiv3 a node is named by its path
// below /v3 (Marketing). In a family package by its path below the family's
// base (Cards, CardsCardID), the base itself by its last segment
// (MembercardOpen), and the nodes above the base by their path below /v3
// (Brand, BrandPartner).
func nameNodes(s *spec, root *node) {
	bases := map[*family]string{}
	for _, f := range s.families {
		bases[f] = familyBase(f)
	}
	walk(root, func(n *node) {
		if n == root {
			return
		}
		rel := strings.TrimPrefix(n.path, "/v3/")
		if n.fam != nil {
			base := bases[n.fam]
			switch {
			case n.path == base:
				rel = n.path[strings.LastIndex(n.path, "/")+1:]
			case strings.HasPrefix(n.path, base+"/") && base != "/v3":
				rel = n.path[len(base)+1:]
			}
		}
		var b strings.Builder
		for _, seg := range strings.Split(rel, "/") {
			b.WriteString(goName(strings.Trim(seg, "{}")))
		}
		n.typeName = b.String()
	})
}

// checkTreeNames fails when two node types of a package, or a node type and a
// model, share a name.
func checkTreeNames(s *spec, root *node) error {
	taken := map[string]string{}
	for _, m := range s.models {
		taken[m.Family.Package+"."+m.GoName] = "model " + m.Name
	}
	for _, e := range s.enums {
		taken[e.Family.Package+"."+e.GoName] = "enum " + e.Name
	}
	var err error
	walk(root, func(n *node) {
		k := n.pkg() + "." + n.typeName
		if prev, dup := taken[k]; dup && err == nil {
			err = fmt.Errorf("the Go name %s is used by %s and the node of %s; rename the model (go_name) or the family prefix", k, prev, n.path)
		}
		taken[k] = "node " + n.path
	})
	return err
}

func walk(n *node, fn func(*node)) {
	fn(n)
	for _, c := range n.children {
		walk(c, fn)
	}
}

func methodName(m string) string { return m[:1] + strings.ToLower(m[1:]) }

// typeRef names a node's type as seen from package pkg.
func (n *node) typeRef(pkg string) string {
	if n.pkg() == pkg {
		return n.typeName
	}
	return n.pkg() + "." + n.typeName
}

func (n *node) constructor() string {
	if n.exported() {
		return "New" + n.typeName
	}
	return "new" + n.typeName
}

// emitTree writes the nodes of one package: apiv3 (fam nil) or a family.
func emitTree(s *spec, root *node, fam *family) []byte {
	pkg := "apiv3"
	if fam != nil {
		pkg = fam.Package
	}
	g := newGoFile(pkg)
	if fam != nil {
		for _, o := range fam.ops {
			var segs []string
			for _, seg := range strings.Split(strings.TrimPrefix(o.Path, "/"), "/") {
				if strings.HasPrefix(seg, "{") {
					segs = append(segs, fmt.Sprintf("{Param: %q}", strings.Trim(seg, "{}")))
				} else {
					segs = append(segs, fmt.Sprintf("{Lit: %q}", seg))
				}
			}
			typed := g.use(importTyped)
			upload := ""
			if o.y.Upload != nil {
				var lims []string
				for _, ext := range uploadExts(o.y.Upload) {
					lims = append(lims, fmt.Sprintf("%q: %d", ext, o.y.Upload.Limits[ext]))
				}
				upload = ", Upload: map[string]int64{" + strings.Join(lims, ", ") + "}"
			}
			g.p("var op%s = %s.Operation{ID: %q, Method: %q, Segs: []%s.Segment{%s}, HasBody: %v, Encrypts: %v, Idempotent: %v, Stream: %v%s}",
				o.ID, typed, o.ID, o.Method, typed, strings.Join(segs, ", "), o.HasBody, o.Request != nil && hasEncrypted(o.Request, map[*model]bool{}),
				o.Method != "POST" || o.y.Idempotent, o.Stream, upload)
		}
		g.p("")
	}
	walk(root, func(n *node) {
		if n.fam != fam {
			return
		}
		emitNode(g, n)
	})
	if fam == nil {
		typed := g.use(importTyped)
		g.comment("", "New builds the tree over the invoker that runs its operations; wxpay.NewClient\ndoes it for client.V3.")
		g.p("func New(inv %s.Invoker) V3 {\nreturn newV3(inv)\n}", typed)
	}
	return g.source()
}

func emitNode(g *goFile, n *node) {
	pkg := g.pkg
	typed := g.use(importTyped)
	var paramFields []string
	for _, p := range n.params {
		paramFields = append(paramFields, lowerName(p))
	}
	doc := fmt.Sprintf("%s is %s (%s).", n.typeName, n.path, n.goExpr)
	if n.parent == nil {
		doc = "V3 is the typed APIv3, one field per URL segment and one method per path parameter:\n" +
			"client.V3.Marketing.MembercardOpen.Cards.CardID(id).PermissionTokens.Post(ctx, req)\n" +
			"is POST /v3/marketing/membercard-open/cards/{card_id}/permission-tokens."
	}
	g.comment("", doc)
	g.p("type %s struct {", n.typeName)
	g.p("inv %s.Invoker", typed)
	for _, p := range paramFields {
		g.p("%s string", p)
	}
	for _, c := range n.children {
		if c.param == "" {
			g.comment("\t", fmt.Sprintf("%s is %s.", goName(c.seg), c.path))
			g.p("%s %s", goName(c.seg), c.typeRef(pkg))
		}
	}
	g.p("}\n")

	// Constructor.
	args := []string{"inv " + typed + ".Invoker"}
	for _, p := range paramFields {
		args = append(args, p+" string")
	}
	if n.exported() {
		g.comment("", fmt.Sprintf("%s builds %s over inv. It is for package apiv3: use %s.", n.constructor(), n.path, n.goExpr))
	}
	g.p("func %s(%s) %s {", n.constructor(), strings.Join(args, ", "), n.typeName)
	g.p("return %s{", n.typeName)
	g.p("inv: inv,")
	for _, p := range paramFields {
		g.p("%s: %s,", p, p)
	}
	for _, c := range n.children {
		if c.param == "" {
			ctor := c.constructor()
			if c.pkg() != pkg {
				ctor = c.pkg() + "." + ctor
				g.use(c.fam.importPath())
			}
			g.p("%s: %s(%s),", goName(c.seg), ctor, strings.Join(append([]string{"inv"}, paramFields...), ", "))
		}
	}
	g.p("}\n}\n")

	// Parameter children.
	for _, c := range n.children {
		if c.param == "" {
			continue
		}
		pn := lowerName(c.param)
		g.comment("", fmt.Sprintf("%s selects %s; the value is escaped into the path and must not be empty.", goName(c.param), c.path))
		callArgs := []string{"n.inv"}
		for _, p := range paramFields {
			callArgs = append(callArgs, "n."+p)
		}
		callArgs = append(callArgs, pn)
		g.p("func (n %s) %s(%s string) %s {\nreturn %s(%s)\n}\n", n.typeName, goName(c.param), pn, c.typeName, c.constructor(), strings.Join(callArgs, ", "))
	}
	for _, o := range n.ops {
		emitOp(g, n, o, paramFields)
	}
}

func opDoc(o *op) []string {
	y := o.y
	title := strings.TrimSuffix(y.Summary, ".")
	if y.TitleZh != "" {
		title += " (" + y.TitleZh + ")"
	}
	title += "."
	paras := []string{fmt.Sprintf("%s is %s %s, operation %s: %s", methodName(o.Method), o.Method, o.Path, o.ID, lowerFirst(title))}
	var notes []string
	if y.Legacy != "" {
		notes = append(notes, "Legacy path: "+y.Legacy+".")
	}
	if y.RateLimit > 0 {
		notes = append(notes, fmt.Sprintf("Rate limit: %d requests/second per caller.", y.RateLimit))
	}
	if o.Method == "POST" && y.Idempotent {
		notes = append(notes, "Idempotent: retried after an unknown outcome (5xx, lost connection).")
	}
	if o.Request != nil && hasEncrypted(o.Request, map[*model]bool{}) {
		notes = append(notes, "Sensitive fields are encrypted with the WeChat Pay key and Wechatpay-Serial is set automatically.")
	}
	if o.Status == 204 {
		notes = append(notes, "Success is 204 No Content.")
	}
	if o.Stream {
		notes = append(notes, "The answer is a file, unsigned by design: it is streamed into w, not verified, and not kept in the *core.Response.")
	}
	if u := o.y.Upload; u != nil {
		var lims []string
		for _, ext := range uploadExts(u) {
			lims = append(lims, fmt.Sprintf("%s %s", ext, sizeText(u.Limits[ext])))
		}
		notes = append(notes, "Sent as multipart/form-data, signed over the meta part; accepted files: "+strings.Join(lims, ", ")+
			", checked before anything is sent.")
	}
	if !o.Documented {
		notes = append(notes, "The response body is not documented; read it from the *core.Response.")
	}
	if len(notes) > 0 {
		paras = append(paras, strings.Join(notes, " "))
	}
	if len(y.Errors) > 0 {
		var es []string
		for _, e := range y.Errors {
			es = append(es, fmt.Sprintf("  - %d %s %s", e.Status, e.Code, e.Message))
		}
		paras = append(paras, "Documented business errors (as *wxpay.APIError):\n"+strings.Join(es, "\n"))
	}
	paras = append(paras, "Official documentation: "+y.Docs[0])
	return paras
}

func emitOp(g *goFile, n *node, o *op, paramFields []string) {
	core, typed := g.use(importCore), g.use(importTyped)
	m := methodName(o.Method)
	var params []string
	for _, p := range paramFields {
		params = append(params, "n."+p)
	}
	paramSlice := "nil"
	if len(params) > 0 {
		paramSlice = "[]string{" + strings.Join(params, ", ") + "}"
	}
	sig := g.use("context") + ".Context"
	sig = "ctx " + sig
	callReq := "nil"
	if o.Request != nil {
		sig += ", req *" + o.Request.GoName
		callReq = "req"
	}
	sink := "nil"
	if o.Stream {
		sig += ", w " + g.use("io") + ".Writer"
		sink = "w"
	}
	sig += ", opts ..." + core + ".CallOption"
	args := "ctx"
	if o.Request != nil {
		args += ", req"
	}
	if o.Stream {
		args += ", w"
	}
	args += ", opts..."
	nilCheck := ""
	if o.Request != nil {
		nilCheck = fmt.Sprintf("if req == nil {\nreturn %%s %s.NilRequest(%q)\n}\n", typed, o.ID)
	}

	g.comment("", opDoc(o)...)
	if o.Response != nil {
		out := "*" + o.Response.GoName
		g.p("func (n %s) %s(%s) (%s, *%s.Response, error) {", n.typeName, m, sig, out, core)
		if nilCheck != "" {
			g.p(nilCheck, "nil, nil,")
		}
		g.p("return %s.Call[%s](ctx, n.inv, &op%s, %s, %s, opts)\n}\n", typed, o.Response.GoName, o.ID, paramSlice, callReq)
		g.comment("", fmt.Sprintf("%sAsync is %s in the background; cancelling ctx cancels the call.", m, m))
		g.p("func (n %s) %sAsync(%s) *%s.Future[%s] {", n.typeName, m, sig, core, out)
		g.p("return %s.Go(func() (%s, *%s.Response, error) {\nreturn n.%s(%s)\n})\n}\n", core, out, core, m, args)
		if o.y.List != nil {
			emitIterator(g, n, o)
		}
		return
	}
	g.p("func (n %s) %s(%s) (*%s.Response, error) {", n.typeName, m, sig, core)
	if nilCheck != "" {
		g.p(nilCheck, "nil,")
	}
	g.p("return n.inv.Invoke(ctx, &op%s, %s, %s, %s, opts)\n}\n", o.ID, paramSlice, callReq, sink)
	g.comment("", fmt.Sprintf("%sAsync is %s in the background; cancelling ctx cancels the call.", m, m))
	g.p("func (n %s) %sAsync(%s) *%s.Future[*%s.Response] {", n.typeName, m, sig, core, core)
	g.p("return %s.Go(func() (*%s.Response, *%s.Response, error) {\nr, err := n.%s(%s)\nreturn r, r, err\n})\n}\n", core, core, core, m, args)
}

// emitIterator writes All for a paged list operation.
func emitIterator(g *goFile, n *node, o *op) {
	core, typed := g.use(importCore), g.use(importTyped)
	items, total := listFields(o)
	offset := listOffset(o)
	item := items.Model.GoName
	counts := "the index of the first item"
	if o.y.List.Offset == "page" {
		counts = "the index of the page"
	}
	g.comment("", fmt.Sprintf("All iterates over every item of %s (%s %s), fetching pages on demand:\n"+
		"req's offset is set for each page (%s), its limit is the page size. Iteration\n"+
		"stops at the first error, which is yielded with a nil item; cancelling ctx stops it too.", o.ID, o.Method, o.Path, counts),
		fmt.Sprintf("\tfor item, err := range %s.All(ctx, req) {", n.goExpr))
	g.p("func (n %s) All(ctx %s.Context, req *%s, opts ...%s.CallOption) %s.Seq2[*%s, error] {",
		n.typeName, g.use("context"), o.Request.GoName, core, g.use("iter"), item)
	g.p("return %s.Pages(ctx, %v, func(ctx %s.Context, offset int64) ([]%s, int64, error) {", typed, o.y.List.Offset == "page", g.use("context"), item)
	g.p("if req == nil {\nreturn nil, 0, %s.NilRequest(%q)\n}", typed, o.ID)
	g.p("page := *req")
	if offset.Required {
		g.p("page.%s = offset", offset.GoName)
	} else {
		g.p("page.%s = &offset", offset.GoName)
	}
	g.p("out, _, err := n.Get(ctx, &page, opts...)\nif err != nil {\nreturn nil, 0, err\n}")
	if total.Required {
		g.p("return out.%s, out.%s, nil", items.GoName, total.GoName)
	} else {
		g.p("if out.%s == nil {\nreturn out.%s, %s.MaxInt64, nil\n}", total.GoName, items.GoName, g.use("math"))
		g.p("return out.%s, *out.%s, nil", items.GoName, total.GoName)
	}
	g.p("})\n}\n")
}

// listFields finds the items and total fields a list operation names.
func listFields(o *op) (items, total *field) {
	for _, f := range o.Response.Fields {
		switch f.JSON {
		case o.y.List.Items:
			items = f
		case o.y.List.Total:
			total = f
		}
	}
	return items, total
}

func listOffset(o *op) *field {
	for _, f := range o.Query {
		if f.JSON == "offset" {
			return f
		}
	}
	return nil
}

// emitTable writes the README's operations table: official path → Go call.
func emitTable(s *spec, root *node) []byte {
	var w writer
	w.p("| Official path | Package | Go call (`client.V3…`) | Request → result | Docs |")
	w.p("|---|---|---|---|---|")
	byOp := map[*op]*node{}
	walk(root, func(n *node) {
		for _, o := range n.ops {
			byOp[o] = n
		}
	})
	ops := append([]*op(nil), s.ops...)
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Fam.Package < ops[j].Fam.Package })
	for _, o := range ops {
		n := byOp[o]
		call := strings.TrimPrefix(n.goExpr, "client.V3") + "." + methodName(o.Method) + "(ctx"
		if o.Request != nil {
			call += ", req"
		}
		if o.Stream {
			call += ", w"
		}
		call += ")"
		req := "—"
		if o.Request != nil {
			req = "`" + o.Request.GoName + "`"
		}
		res := "`*Response` (" + strconv.Itoa(o.Status) + ")"
		if o.Stream {
			res = "the file into `w`, `*Response`"
		}
		if o.Response != nil {
			res = "`*" + o.Response.GoName + "`"
		}
		doc := o.y.Docs[0]
		w.p("| `%s %s` | [%s](apiv3/%s) | `%s` | %s → %s | [%s](%s) |", o.Method, o.Path, o.Fam.Package, o.Fam.Package, call, req, res, doc[strings.LastIndex(doc, "/")+1:], doc)
	}
	return w.Bytes()
}

// sizeText writes a byte count as the documentation does: 5 MB, 7.5 MB.
func sizeText(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64) + " MB"
}
