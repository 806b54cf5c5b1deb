package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// node is one URL segment of the typed chain.
type node struct {
	seg      string // literal segment, or "" for a parameter
	param    string // parameter name for {param} segments
	typeName string
	path     string   // template up to here
	params   []string // parameter names up to here, in order
	children []*node
	ops      []*op
	goExpr   string // client.V3.… expression reaching this node, for the README
}

func buildTree(s *spec) (*node, error) {
	root := &node{seg: "v3", typeName: "V3", path: "/v3", goExpr: "client.V3"}
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
			for _, c := range n.children {
				if param != "" && c.param != "" {
					if c.param != param {
						return nil, fmt.Errorf("%s: {%s} and {%s} at the same position under %s", o.ID, c.param, param, n.path)
					}
					child = c
				} else if param == "" && c.seg == seg {
					child = c
				}
			}
			if child == nil {
				child = &node{seg: seg, param: param, path: n.path + "/" + seg, params: n.params}
				if param != "" {
					child.seg = ""
					child.params = append(append([]string(nil), n.params...), param)
					child.typeName = n.typeName + goName(param)
					child.goExpr = fmt.Sprintf("%s.%s(%s)", n.goExpr, goName(param), lowerName(param))
				} else {
					child.typeName = n.typeName + goName(seg)
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
	// A literal child and a parameter method must not share a Go name.
	var check func(n *node) error
	check = func(n *node) error {
		names := map[string]bool{"Get": true, "Post": true, "Put": true, "Patch": true, "Delete": true}
		for _, c := range n.children {
			name := goName(c.seg)
			if c.param != "" {
				name = goName(c.param)
			}
			if names[name] {
				return fmt.Errorf("%s: Go name %s used twice", n.path, name)
			}
			names[name] = true
			if err := check(c); err != nil {
				return err
			}
		}
		return nil
	}
	return root, check(root)
}

func walk(n *node, fn func(*node)) {
	fn(n)
	for _, c := range n.children {
		walk(c, fn)
	}
}

func methodName(m string) string { return m[:1] + strings.ToLower(m[1:]) }

func emitTree(s *spec, root *node) []byte {
	var w writer
	w.WriteString(header)
	w.p("package wxpay\n")
	w.p("import \"context\"\n")

	// Operation descriptors.
	for _, o := range s.ops {
		var segs []string
		for _, seg := range strings.Split(strings.TrimPrefix(o.Path, "/"), "/") {
			if strings.HasPrefix(seg, "{") {
				segs = append(segs, fmt.Sprintf("{param: %q}", strings.Trim(seg, "{}")))
			} else {
				segs = append(segs, fmt.Sprintf("{lit: %q}", seg))
			}
		}
		w.p("var op%s = operation{id: %q, method: %q, segs: []segment{%s}, hasBody: %v, encrypts: %v, idempotent: %v}",
			o.ID, o.ID, o.Method, strings.Join(segs, ", "), o.HasBody, o.Request != nil && hasEncrypted(o.Request, map[*model]bool{}),
			o.Method != "POST" || o.y.Idempotent)
	}
	w.p("")

	walk(root, func(n *node) {
		paramFields := func() []string {
			var out []string
			for _, p := range n.params {
				out = append(out, lowerName(p))
			}
			return out
		}()
		// Type.
		doc := fmt.Sprintf("%s is %s.", n.typeName, n.path)
		if n == root {
			doc = "V3 is the typed APIv3, one field per URL segment and one method per path parameter:\n" +
				"client.V3.Marketing.MembercardOpen.Cards.CardID(id).PermissionTokens.Post(ctx, req)\n" +
				"is POST /v3/marketing/membercard-open/cards/{card_id}/permission-tokens."
		}
		w.comment("", doc)
		w.p("type %s struct {", n.typeName)
		w.p("c *Client")
		for _, p := range paramFields {
			w.p("%s string", p)
		}
		for _, c := range n.children {
			if c.param == "" {
				w.comment("\t", fmt.Sprintf("%s is %s.", goName(c.seg), c.path))
				w.p("%s %s", goName(c.seg), c.typeName)
			}
		}
		w.p("}\n")
		// Constructor.
		args := []string{"c *Client"}
		for _, p := range paramFields {
			args = append(args, p+" string")
		}
		w.p("func new%s(%s) %s {", n.typeName, strings.Join(args, ", "), n.typeName)
		w.p("return %s{", n.typeName)
		w.p("c: c,")
		for _, p := range paramFields {
			w.p("%s: %s,", p, p)
		}
		for _, c := range n.children {
			if c.param == "" {
				w.p("%s: new%s(%s),", goName(c.seg), c.typeName, strings.Join(append([]string{"c"}, paramFields...), ", "))
			}
		}
		w.p("}\n}\n")
		// Parameter children.
		for _, c := range n.children {
			if c.param == "" {
				continue
			}
			pn := lowerName(c.param)
			w.comment("", fmt.Sprintf("%s selects %s; the value is escaped into the path and must not be empty.", goName(c.param), c.path))
			callArgs := []string{"n.c"}
			for _, p := range paramFields {
				callArgs = append(callArgs, "n."+p)
			}
			callArgs = append(callArgs, pn)
			w.p("func (n %s) %s(%s string) %s {\nreturn new%s(%s)\n}\n", n.typeName, goName(c.param), pn, c.typeName, c.typeName, strings.Join(callArgs, ", "))
		}
		// Operations.
		for _, o := range n.ops {
			emitOp(&w, n, o, paramFields)
		}
	})
	return w.Bytes()
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
	if !o.Documented {
		notes = append(notes, "The response body is not documented; read it from the *Response.")
	}
	if len(notes) > 0 {
		paras = append(paras, strings.Join(notes, " "))
	}
	if len(y.Errors) > 0 {
		var es []string
		for _, e := range y.Errors {
			es = append(es, fmt.Sprintf("  - %d %s %s", e.Status, e.Code, e.Message))
		}
		paras = append(paras, "Documented business errors (as *APIError):\n"+strings.Join(es, "\n"))
	}
	paras = append(paras, "Official documentation: "+y.Docs[0])
	return paras
}

func emitOp(w *writer, n *node, o *op, paramFields []string) {
	m := methodName(o.Method)
	var params []string
	for _, p := range paramFields {
		params = append(params, "n."+p)
	}
	paramSlice := "nil"
	if len(params) > 0 {
		paramSlice = "[]string{" + strings.Join(params, ", ") + "}"
	}
	sig := "ctx context.Context"
	callReq := "nil"
	if o.Request != nil {
		sig += ", req *" + o.Request.Name
		callReq = "req"
	}
	sig += ", opts ...CallOption"
	args := "ctx"
	if o.Request != nil {
		args += ", req"
	}
	args += ", opts..."
	nilCheck := ""
	if o.Request != nil {
		nilCheck = fmt.Sprintf("if req == nil {\nreturn %%s errNilRequest(%q)\n}\n", o.ID)
	}

	w.comment("", opDoc(o)...)
	if o.Response != nil {
		out := "*" + o.Response.Name
		w.p("func (n %s) %s(%s) (%s, *Response, error) {", n.typeName, m, sig, out)
		if nilCheck != "" {
			w.p(nilCheck, "nil, nil,")
		}
		w.p("out := new(%s)", o.Response.Name)
		w.p("resp, err := n.c.invoke(ctx, &op%s, %s, %s, out, opts)", o.ID, paramSlice, callReq)
		w.p("if err != nil {\nreturn nil, resp, err\n}\nreturn out, resp, nil\n}\n")
		w.comment("", fmt.Sprintf("%sAsync is %s in the background; cancelling ctx cancels the call.", m, m))
		w.p("func (n %s) %sAsync(%s) *Future[%s] {", n.typeName, m, sig, out)
		w.p("return goFuture(func() (%s, *Response, error) {\nreturn n.%s(%s)\n})\n}\n", out, m, args)
		return
	}
	w.p("func (n %s) %s(%s) (*Response, error) {", n.typeName, m, sig)
	if nilCheck != "" {
		w.p(nilCheck, "nil,")
	}
	w.p("return n.c.invoke(ctx, &op%s, %s, %s, nil, opts)\n}\n", o.ID, paramSlice, callReq)
	w.comment("", fmt.Sprintf("%sAsync is %s in the background; cancelling ctx cancels the call.", m, m))
	w.p("func (n %s) %sAsync(%s) *Future[*Response] {", n.typeName, m, sig)
	w.p("return goFuture(func() (*Response, *Response, error) {\nr, err := n.%s(%s)\nreturn r, r, err\n})\n}\n", m, args)
}

// emitTable writes the README's operations table: official path → Go call.
func emitTable(s *spec, root *node) []byte {
	var w writer
	w.p("| Official path | Go call (`client.V3…`) | Request → result | Docs |")
	w.p("|---|---|---|---|")
	byOp := map[*op]*node{}
	walk(root, func(n *node) {
		for _, o := range n.ops {
			byOp[o] = n
		}
	})
	ops := append([]*op(nil), s.ops...)
	sort.SliceStable(ops, func(i, j int) bool { return familyOrder(ops[i].Family) < familyOrder(ops[j].Family) })
	for _, o := range ops {
		n := byOp[o]
		call := strings.TrimPrefix(n.goExpr, "client.V3") + "." + methodName(o.Method) + "(ctx"
		if o.Request != nil {
			call += ", req"
		}
		call += ")"
		req := "—"
		if o.Request != nil {
			req = "`" + o.Request.Name + "`"
		}
		res := "`*Response` (" + strconv.Itoa(o.Status) + ")"
		if o.Response != nil {
			res = "`*" + o.Response.Name + "`"
		}
		doc := o.y.Docs[0]
		w.p("| `%s %s` | `%s` | %s → %s | [%s](%s) |", o.Method, o.Path, call, req, res, doc[strings.LastIndex(doc, "/")+1:], doc)
	}
	return w.Bytes()
}

func familyOrder(f string) int {
	return strings.Index("brand-card-member membercard-open payroll-card", f)
}
