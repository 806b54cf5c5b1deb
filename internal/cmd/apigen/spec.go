package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// The YAML shapes of api/*.yaml (format: api/README.md). Decoding is strict:
// an unknown key is an error.

type yFile struct {
	Family     string             `yaml:"family"`
	Package    string             `yaml:"package"`
	GoPrefix   string             `yaml:"go_prefix"`
	Doc        string             `yaml:"doc"`
	Enums      map[string]*yEnum  `yaml:"enums"`
	Models     map[string]*yModel `yaml:"models"`
	Operations []*yOp             `yaml:"operations"`
	Events     []*yEvent          `yaml:"events"`

	File string `yaml:"-"`
}

type yEnum struct {
	Doc    string        `yaml:"doc"`
	Values []*yEnumValue `yaml:"values"`
}

type yEnumValue struct {
	Value  string `yaml:"value"`
	Doc    string `yaml:"doc"`
	GoName string `yaml:"go_name"`
}

type yModel struct {
	Doc    string    `yaml:"doc"`
	Fields []*yField `yaml:"fields"`
}

type yField struct {
	Name       string    `yaml:"name"`
	Type       string    `yaml:"type"`
	Items      string    `yaml:"items"`
	Fields     []*yField `yaml:"fields"`
	Model      string    `yaml:"model"`
	Required   bool      `yaml:"required"`
	MaxLength  int       `yaml:"max_length"`
	Enum       string    `yaml:"enum"`
	Pattern    string    `yaml:"pattern"`
	Encrypted  bool      `yaml:"encrypted"`
	Personal   bool      `yaml:"personal"`
	JSONString bool      `yaml:"json_string"`
	GoName     string    `yaml:"go_name"`
	Doc        string    `yaml:"doc"`
}

type yOp struct {
	ID         string     `yaml:"id"`
	Method     string     `yaml:"method"`
	Path       string     `yaml:"path"`
	Summary    string     `yaml:"summary"`
	TitleZh    string     `yaml:"title_zh"`
	Docs       []string   `yaml:"docs"`
	Callers    []string   `yaml:"callers"`
	RateLimit  int        `yaml:"rate_limit"`
	Idempotent bool       `yaml:"idempotent"`
	Legacy     string     `yaml:"legacy"`
	PathParams []*yField  `yaml:"path_params"`
	Query      []*yField  `yaml:"query"`
	Request    *yBody     `yaml:"request"`
	Response   *yResponse `yaml:"response"`
	Errors     []*yError  `yaml:"errors"`
	List       *yList     `yaml:"list"`
	Example    *yExample  `yaml:"example"`
	Upload     *yUpload   `yaml:"upload"`
}

// yUpload marks a media upload: multipart/form-data with a meta part, which
// the request is signed over, then the file. limits maps each accepted file
// extension (lower case) to its maximum size in bytes.
type yUpload struct {
	Limits map[string]int64 `yaml:"limits"`
}

// yList marks a paged list operation: offset/limit query parameters, an array
// of items and a total count in the answer. The generator adds an iterator.
type yList struct {
	Items string `yaml:"items"` // response array field, e.g. data
	Total string `yaml:"total"` // response total field, e.g. total_count
	// Offset says what the offset parameter counts: "item" (请求资源起始位置,
	// the index of the first item) or "page" (分页页码, the index of the page of
	// limit items).
	Offset string `yaml:"offset"`
}

// yExample is the runnable example of an operation, against the emulator's
// fixtures (wxpaytest).
type yExample struct {
	Path    map[string]string `yaml:"path"`    // path parameter values
	Request map[string]any    `yaml:"request"` // body and query values by JSON name; an upload's filename and file (its content)
	Print   []string          `yaml:"print"`   // answer fields to print, by JSON name or dotted path (amount.total)
	Output  string            `yaml:"output"`  // the expected output
}

type yBody struct {
	Fields []*yField `yaml:"fields"`
	Model  string    `yaml:"model"`
}

type yResponse struct {
	Status     int       `yaml:"status"`
	Stream     bool      `yaml:"stream"` // the answer is a file (unsigned by design), streamed to an io.Writer
	Model      string    `yaml:"model"`
	Fields     []*yField `yaml:"fields"`
	Documented *bool     `yaml:"documented"`
}

type yError struct {
	Status  int    `yaml:"status"`
	Code    string `yaml:"code"`
	Message string `yaml:"message"`
	Doc     string `yaml:"doc"`
}

type yEvent struct {
	EventType    string    `yaml:"event_type"`
	Model        string    `yaml:"model"`
	OriginalType string    `yaml:"original_type"`
	SummaryZh    string    `yaml:"summary_zh"`
	Summary      string    `yaml:"summary"`
	Docs         []string  `yaml:"docs"`
	Retry        string    `yaml:"retry"`
	Fields       []*yField `yaml:"fields"`
	// Variants: the resource's model depends on who receives it (a direct
	// merchant or a service provider); the first variant whose has: member is
	// present in the decrypted resource is chosen, the last is the default.
	Variants []*yVariant `yaml:"variants"`
}

type yVariant struct {
	Model string `yaml:"model"`
	Has   string `yaml:"has"`
}

// ---- resolved form ----

type direction int

const (
	dirRequest direction = 1 << iota
	dirResponse
)

// family is one product family: one spec file, one generated package.
type family struct {
	Name    string // e.g. payroll-card
	Package string // e.g. payrollcard
	Prefix  string // dropped from Go names
	Doc     string
	File    string
	ops     []*op
	models  []*model
	enums   []*enum
	events  []*event
}

// goName drops the family prefix from a spec-wide name: PayrollCardToken →
// Token, CreatePayrollCardToken → CreateToken (once, at a word boundary; a name
// that is nothing but the prefix keeps it).
func (f *family) goName(name string) string {
	p := f.Prefix
	for i := 0; p != "" && i+len(p) <= len(name); i++ {
		if name[i:i+len(p)] != p {
			continue
		}
		startOK := i == 0 || !unicode.IsUpper(rune(name[i-1]))
		end := i + len(p)
		endOK := end < len(name) && unicode.IsUpper(rune(name[end]))
		if startOK && endOK {
			return name[:i] + name[end:]
		}
	}
	return name
}

// importPath is the family package's import path.
func (f *family) importPath() string { return modulePath + "/apiv3/" + f.Package }

const modulePath = "github.com/wxpaykit/wxpay"

type enum struct {
	Name   string // spec-wide name
	GoName string // name in the family package
	Family *family
	Doc    string
	Values []*enumValue
}

type enumValue struct {
	Value, Doc, Const string
}

// model is a Go struct type: a named model, a response model, a request, an
// event resource, or an inline object.
type model struct {
	Name      string // spec-wide name
	GoName    string // name in the family package
	Family    *family
	Doc       string
	Fields    []*field
	Dir       direction // where the type is used
	IsRequest bool      // an <ID>Request type: may also hold query fields
	Op        *op       // for requests and response models
	Shared    bool      // declared in models.yaml (its fields list is emitted once)
}

type field struct {
	y        *yField
	JSON     string
	GoName   string
	Type     string // spec type
	Items    string
	Required bool
	Enum     *enum
	Model    *model // object / array of object
	Location string // body, query, path
	Upload   string // "filename" or "file": a part of an upload request
}

type op struct {
	y          *yOp
	ID         string
	GoName     string // ID without the family prefix
	Family     string
	Fam        *family
	Method     string
	Path       string
	PathParams []*field
	Query      []*field
	Body       []*field // nil when body-less
	HasBody    bool
	Request    *model // nil when the op has neither query nor body
	Status     int
	Stream     bool   // the answer is a file, streamed to an io.Writer
	Response   *model // nil for 204, streamed and undocumented responses
	Documented bool
}

type event struct {
	y        *yEvent
	Model    *model // the default model
	Variants []variant
}

type variant struct {
	Model *model
	Has   string
}

type spec struct {
	families  []*family
	enums     map[string]*enum
	models    map[string]*model
	modelList []*model // declaration order for emission (sorted by name)
	ops       []*op
	events    []*event
}

func load(dir string) (*spec, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("no spec files (*.yaml) in %s", dir)
	}
	var files []*yFile
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		var f yFile
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		f.File = filepath.Base(name)
		files = append(files, &f)
	}
	return resolve(files)
}

func resolve(files []*yFile) (*spec, error) {
	s := &spec{enums: map[string]*enum{}, models: map[string]*model{}}
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	// Families: every file is one.
	fams := map[*yFile]*family{}
	pkgs := map[string]bool{}
	for _, f := range files {
		fam := &family{Name: f.Family, Package: f.Package, Prefix: f.GoPrefix, Doc: f.Doc, File: f.File}
		switch {
		case f.Family == "":
			fail("%s: no family", f.File)
		case !validPackage(f.Package):
			fail("%s: package %q must be a lower-case Go package name", f.File, f.Package)
		case pkgs[f.Package]:
			fail("%s: package %s used by two families", f.File, f.Package)
		}
		pkgs[f.Package] = true
		fams[f] = fam
		s.families = append(s.families, fam)
	}

	// Enums first: fields refer to them.
	for _, f := range files {
		fam := fams[f]
		for name, ye := range f.Enums {
			if s.enums[name] != nil {
				fail("enum %s declared twice", name)
			}
			e := &enum{Name: name, GoName: fam.goName(name), Family: fam, Doc: ye.Doc}
			for _, v := range ye.Values {
				e.Values = append(e.Values, &enumValue{Value: v.Value, Doc: v.Doc, Const: v.GoName})
			}
			nameEnumConsts(e)
			s.enums[name] = e
			fam.enums = append(fam.enums, e)
		}
	}
	// Named models: declare, then fill (they refer to each other).
	type pending struct {
		y   *yModel
		fam *family
	}
	yModels := map[string]pending{}
	for _, f := range files {
		for name, ym := range f.Models {
			if _, dup := yModels[name]; dup {
				fail("model %s declared twice", name)
			}
			yModels[name] = pending{ym, fams[f]}
			s.models[name] = &model{Name: name, GoName: fams[f].goName(name), Family: fams[f], Doc: ym.Doc, Shared: true}
		}
	}
	r := &resolver{s: s, fail: fail}
	for name, p := range yModels {
		r.fam = p.fam
		s.models[name].Fields = r.fields(p.y.Fields, name, "body")
	}

	ids := map[string]bool{}
	for _, f := range files {
		r.fam = fams[f]
		for _, yo := range f.Operations {
			if ids[yo.ID] {
				fail("operation id %s used twice", yo.ID)
			}
			ids[yo.ID] = true
			o := &op{y: yo, ID: yo.ID, GoName: r.fam.goName(yo.ID), Family: f.Family, Fam: r.fam, Method: yo.Method, Path: yo.Path}
			r.op(o)
			s.ops = append(s.ops, o)
			r.fam.ops = append(r.fam.ops, o)
		}
		for _, ye := range f.Events {
			ev := &event{y: ye}
			switch {
			case len(ye.Variants) > 0:
				if ye.Model != "" || len(ye.Fields) > 0 {
					fail("event %s: variants replace model and fields", ye.EventType)
				}
				for i, v := range ye.Variants {
					m := r.ref(v.Model, "event "+ye.EventType)
					if m == nil {
						continue
					}
					if v.Has == "" && i < len(ye.Variants)-1 {
						fail("event %s: only the last variant may omit has:", ye.EventType)
					}
					if v.Has != "" && fieldByJSON(m, v.Has) == nil {
						fail("event %s: model %s has no field %s", ye.EventType, v.Model, v.Has)
					}
					markDir(m, dirResponse)
					ev.Variants = append(ev.Variants, variant{Model: m, Has: v.Has})
				}
				if len(ev.Variants) > 0 {
					ev.Model = ev.Variants[len(ev.Variants)-1].Model
				}
			case ye.Model == "":
				fail("event %s has no model", ye.EventType)
			case len(ye.Fields) > 0:
				ev.Model = r.declare(ye.Model, ye.Summary, ye.Fields, "body")
			default:
				ev.Model = r.ref(ye.Model, "event "+ye.EventType)
			}
			if ev.Model != nil {
				markDir(ev.Model, dirResponse)
			}
			s.events = append(s.events, ev)
			r.fam.events = append(r.fam.events, ev)
		}
	}
	for _, o := range s.ops {
		if o.Request != nil {
			markDir(o.Request, dirRequest)
		}
		if o.Response != nil {
			markDir(o.Response, dirResponse)
		}
	}
	for _, m := range s.models {
		if m.Dir == dirRequest|dirResponse && hasEncrypted(m, map[*model]bool{}) {
			fail("model %s holds encrypted fields and is used in requests and responses: split it by direction", m.Name)
		}
		s.modelList = append(s.modelList, m)
		m.Family.models = append(m.Family.models, m)
	}
	sort.Slice(s.modelList, func(i, j int) bool { return s.modelList[i].Name < s.modelList[j].Name })
	for _, fam := range s.families {
		sort.Slice(fam.models, func(i, j int) bool { return fam.models[i].GoName < fam.models[j].GoName })
		sort.Slice(fam.enums, func(i, j int) bool { return fam.enums[i].GoName < fam.enums[j].GoName })
		sort.Slice(fam.ops, func(i, j int) bool { return opLess(fam.ops[i], fam.ops[j]) })
	}
	sort.Slice(s.ops, func(i, j int) bool { return opLess(s.ops[i], s.ops[j]) })
	checkConstClashes(s, fail)
	return s, errors.Join(errs...)
}

func opLess(a, b *op) bool {
	if a.Path != b.Path {
		return a.Path < b.Path
	}
	return methodOrder(a.Method) < methodOrder(b.Method)
}

// uploadExts lists an upload's extensions, sorted.
func uploadExts(u *yUpload) []string {
	var exts []string
	for e := range u.Limits {
		exts = append(exts, e)
	}
	sort.Strings(exts)
	return exts
}

func validPackage(p string) bool {
	if p == "" || token.IsKeyword(p) {
		return false
	}
	for i, c := range p {
		if !('a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func methodOrder(m string) int {
	return strings.Index("GET POST PUT PATCH DELETE", m)
}

type resolver struct {
	s    *spec
	fam  *family // the family whose file is being resolved
	fail func(string, ...any)
}

// ref finds a named model of the current family.
func (r *resolver) ref(name, where string) *model {
	m := r.s.models[name]
	switch {
	case m == nil:
		r.fail("%s: unknown model %s", where, name)
	case m.Family != r.fam:
		r.fail("%s: model %s belongs to family %s; a family's spec file holds its own models", where, name, m.Family.Name)
		return nil
	}
	return m
}

// declare registers a model defined inline (a response model, an event model, an
// inline object).
func (r *resolver) declare(name, doc string, fs []*yField, location string) *model {
	if r.s.models[name] != nil {
		r.fail("model %s declared twice", name)
		return r.s.models[name]
	}
	m := &model{Name: name, GoName: r.fam.goName(name), Family: r.fam, Doc: doc}
	r.s.models[name] = m
	m.Fields = r.fields(fs, name, location)
	return m
}

var validTypes = map[string]bool{"string": true, "integer": true, "number": true, "boolean": true, "object": true, "array": true}

func (r *resolver) fields(fs []*yField, owner, location string) []*field {
	var out []*field
	seenJSON, seenGo := map[string]bool{}, map[string]bool{}
	for _, yf := range fs {
		f := &field{y: yf, JSON: yf.Name, Type: yf.Type, Items: yf.Items, Required: yf.Required, Location: location}
		f.GoName = yf.GoName
		if f.GoName == "" {
			f.GoName = goName(yf.Name)
		}
		where := owner + "." + yf.Name
		switch {
		case yf.Name == "":
			r.fail("%s: field without name", owner)
		case !validTypes[yf.Type]:
			r.fail("%s: bad type %q", where, yf.Type)
		case yf.Type == "array" && !validTypes[yf.Items]:
			r.fail("%s: array needs items", where)
		case yf.Type != "array" && yf.Items != "":
			r.fail("%s: items on a %s", where, yf.Type)
		case seenJSON[yf.Name] || seenGo[f.GoName]:
			r.fail("%s: duplicate field", where)
		}
		seenJSON[yf.Name], seenGo[f.GoName] = true, true
		if yf.Pattern != "" {
			if _, err := regexp.Compile(yf.Pattern); err != nil {
				r.fail("%s: pattern: %v", where, err)
			}
		}
		if yf.Enum != "" {
			f.Enum = r.s.enums[yf.Enum]
			switch {
			case f.Enum == nil:
				r.fail("%s: unknown enum %s", where, yf.Enum)
			case f.Enum.Family != r.fam:
				r.fail("%s: enum %s belongs to family %s", where, yf.Enum, f.Enum.Family.Name)
			}
		}
		isObject := yf.Type == "object" || yf.Type == "array" && yf.Items == "object"
		switch {
		case isObject && yf.Model != "":
			if len(yf.Fields) > 0 {
				r.fail("%s: both model and fields", where)
			}
			f.Model = r.ref(yf.Model, where)
		case isObject:
			f.Model = r.declare(owner+f.GoName, "", yf.Fields, location)
			f.Model.Doc = yf.Doc
		case yf.Model != "" || len(yf.Fields) > 0:
			r.fail("%s: model/fields on a non-object", where)
		}
		out = append(out, f)
	}
	return out
}

func (r *resolver) op(o *op) {
	yo := o.y
	if !strings.HasPrefix(yo.Path, "/v3/") || yo.ID == "" || yo.Summary == "" || len(yo.Docs) == 0 {
		r.fail("%s: needs id, summary, docs and a /v3/ path", yo.ID)
	}
	switch yo.Method {
	case "GET", "POST", "PUT", "PATCH", "DELETE":
	default:
		r.fail("%s: bad method %q", yo.ID, yo.Method)
	}
	if yo.Idempotent && yo.Method != "POST" {
		r.fail("%s: idempotent is for POSTs; other methods are idempotent already", yo.ID)
	}
	o.PathParams = r.fields(yo.PathParams, yo.ID, "path")
	params := map[string]bool{}
	for _, seg := range strings.Split(strings.TrimPrefix(yo.Path, "/"), "/") {
		if strings.HasPrefix(seg, "{") {
			params[strings.Trim(seg, "{}")] = true
		}
	}
	for _, p := range o.PathParams {
		if !params[p.JSON] || p.Type != "string" {
			r.fail("%s: path parameter %s is not a string {segment} of the path", yo.ID, p.JSON)
		}
		delete(params, p.JSON)
	}
	for p := range params {
		r.fail("%s: {%s} is not declared in path_params", yo.ID, p)
	}
	o.Query = r.fields(yo.Query, yo.ID+"Query", "query")
	for _, q := range o.Query {
		if q.Type != "string" && q.Type != "integer" {
			r.fail("%s: query parameter %s must be a string or integer", yo.ID, q.JSON)
		}
	}
	if yo.Upload != nil {
		if yo.Method != "POST" || yo.Request != nil || len(yo.Upload.Limits) == 0 {
			r.fail("%s: an upload is a POST with upload.limits and no request:", yo.ID)
		}
		for ext, n := range yo.Upload.Limits {
			if ext != strings.ToLower(ext) || strings.ContainsAny(ext, ". /") || n <= 0 {
				r.fail("%s: upload limit %s: %d: extensions are lower case without a dot, sizes positive", yo.ID, ext, n)
			}
		}
		o.HasBody = true
		o.Body = []*field{
			{y: &yField{Name: "filename", Type: "string", Required: true, MaxLength: 128,
				Doc: "file name sent in meta and in the file part; its extension decides the type (" + strings.Join(uploadExts(yo.Upload), ", ") + ") (文件名称)"},
				JSON: "filename", GoName: "Filename", Type: "string", Required: true, Location: "body", Upload: "filename"},
			{y: &yField{Name: "file", Type: "file", Required: true,
				Doc: "content of the file: an io.Seeker (an *os.File) is read twice, to hash then to send; another reader is read once into memory, up to the size limit (文件)"},
				JSON: "file", GoName: "File", Type: "file", Required: true, Location: "body", Upload: "file"},
		}
	}
	if yo.Request != nil {
		o.HasBody = true
		if yo.Request.Model != "" {
			if m := r.ref(yo.Request.Model, yo.ID+" request"); m != nil {
				o.Body = m.Fields
			}
		} else {
			o.Body = r.fields(yo.Request.Fields, yo.ID, "body")
		}
	}
	if len(o.Query) > 0 || o.HasBody {
		req := &model{Name: yo.ID + "Request", GoName: o.GoName + "Request", Family: r.fam, IsRequest: true, Op: o}
		req.Fields = append(append(req.Fields, o.Body...), o.Query...)
		seen := map[string]bool{}
		for _, f := range req.Fields {
			if seen[f.GoName] {
				r.fail("%s: query parameter and body field share the Go name %s", yo.ID, f.GoName)
			}
			seen[f.GoName] = true
		}
		if r.s.models[req.Name] != nil {
			r.fail("%s: a model is already named %s", yo.ID, req.Name)
		}
		r.s.models[req.Name] = req
		o.Request = req
	}
	resp := yo.Response
	if resp == nil {
		r.fail("%s: no response", yo.ID)
		return
	}
	o.Status = resp.Status
	o.Stream = resp.Stream
	o.Documented = resp.Documented == nil || *resp.Documented
	switch {
	case resp.Stream:
		if resp.Status != 200 || resp.Model != "" || len(resp.Fields) > 0 || yo.Method != "GET" {
			r.fail("%s: a streamed answer is a 200 to a GET, without a model", yo.ID)
		}
	case resp.Status == 204:
		if resp.Model != "" || len(resp.Fields) > 0 {
			r.fail("%s: a 204 response has no model", yo.ID)
		}
	case resp.Status != 200:
		r.fail("%s: response status must be 200 or 204", yo.ID)
	case !o.Documented:
	case resp.Model == "":
		r.fail("%s: a 200 response needs a model name", yo.ID)
	case len(resp.Fields) > 0:
		o.Response = r.declare(resp.Model, "", resp.Fields, "body")
		o.Response.Op = o
	default:
		o.Response = r.ref(resp.Model, yo.ID+" response")
	}
	if o.Response != nil && o.Response.Doc == "" {
		o.Response.Doc = "the answer of " + yo.ID + ": " + yo.Summary
	}
	r.checkList(o)
	r.checkExample(o)
}

// checkList checks a paged list operation: a GET with an integer offset query
// parameter and an answer with the items array (of objects) and the total.
func (r *resolver) checkList(o *op) {
	l := o.y.List
	if l == nil {
		return
	}
	if o.Method != "GET" || o.Response == nil || listOffset(o) == nil || listOffset(o).Type != "integer" {
		r.fail("%s: list: needs a GET with an integer offset query parameter and a JSON answer", o.ID)
		return
	}
	if l.Offset != "item" && l.Offset != "page" {
		r.fail("%s: list: offset must be item or page", o.ID)
	}
	items, total := listFields(o)
	if items == nil || items.Type != "array" || items.Items != "object" || total == nil || total.Type != "integer" {
		r.fail("%s: list: the answer needs an array of objects %q and an integer %q", o.ID, l.Items, l.Total)
	}
}

// checkExample checks that an example names only fields the operation has.
func (r *resolver) checkExample(o *op) {
	ex := o.y.Example
	if ex == nil {
		return
	}
	for name := range ex.Path {
		found := false
		for _, p := range o.PathParams {
			found = found || p.JSON == name
		}
		if !found {
			r.fail("%s: example: no path parameter %s", o.ID, name)
		}
	}
	for _, p := range o.PathParams {
		if _, ok := ex.Path[p.JSON]; !ok {
			r.fail("%s: example: path parameter %s has no value", o.ID, p.JSON)
		}
	}
	if len(ex.Request) > 0 && o.Request == nil {
		r.fail("%s: example: the operation takes no request", o.ID)
	} else if o.Request != nil {
		r.checkExampleObject(o.ID, o.Request, ex.Request)
	}
	for _, f := range o.Body {
		if f.Upload != "file" {
			continue
		}
		name, _ := ex.Request["filename"].(string)
		if _, given := ex.Request[f.JSON]; !given && !strings.HasSuffix(strings.ToLower(name), ".png") {
			r.fail("%s: example: an upload names its filename and gives its content as file: (a .png filename without file: gets a small PNG)", o.ID)
		}
	}
	for _, name := range ex.Print {
		if _, _, fl := printPath(o.Response, name); fl == nil || fl.Type == "object" {
			r.fail("%s: example: the answer has no field %s to print", o.ID, name)
		}
	}
	if strings.TrimSpace(ex.Output) == "" {
		r.fail("%s: example: no output", o.ID)
	}
}

func (r *resolver) checkExampleObject(where string, m *model, vals map[string]any) {
	for name, v := range vals {
		f := fieldByJSON(m, name)
		if f == nil {
			r.fail("%s: example: %s has no field %s", where, m.Name, name)
			continue
		}
		r.checkExampleValue(where+"/"+name, f, f.Type, v)
	}
}

func (r *resolver) checkExampleValue(where string, f *field, t string, v any) {
	ok := true
	switch t {
	case "string":
		_, ok = v.(string)
	case "integer":
		_, ok = v.(int)
	case "number":
		switch v.(type) {
		case int, float64:
		default:
			ok = false
		}
	case "boolean":
		_, ok = v.(bool)
	case "file": // an upload's content
		_, ok = v.(string)
	case "object":
		var m map[string]any
		if m, ok = v.(map[string]any); ok {
			r.checkExampleObject(where, f.Model, m)
		}
	case "array":
		var list []any
		if list, ok = v.([]any); ok {
			for _, it := range list {
				r.checkExampleValue(where, f, f.Items, it)
			}
		}
	}
	if !ok {
		r.fail("%s: example value %v is not a %s", where, v, t)
	}
}

func markDir(m *model, d direction) {
	if m.Dir&d != 0 {
		return
	}
	m.Dir |= d
	for _, f := range m.Fields {
		if f.Model != nil {
			markDir(f.Model, d)
		}
	}
}

func hasEncrypted(m *model, seen map[*model]bool) bool {
	if seen[m] {
		return false
	}
	seen[m] = true
	for _, f := range m.Fields {
		if f.y.Encrypted || f.Model != nil && hasEncrypted(f.Model, seen) {
			return true
		}
	}
	return false
}

// nameEnumConsts names each constant TypeName+Value in Go case, dropping a prefix
// every value shares when the type name already says it
// (BrandUserFormFlag + USER_FORM_FLAG_SEX → BrandUserFormFlagSex).
func nameEnumConsts(e *enum) {
	prefix := ""
	if len(e.Values) > 1 {
		words := strings.Split(e.Values[0].Value, "_")
		for n := len(words) - 1; n > 0; n-- {
			p := strings.Join(words[:n], "_") + "_"
			all := true
			for _, v := range e.Values {
				if !strings.HasPrefix(v.Value, p) || len(v.Value) == len(p) {
					all = false
					break
				}
			}
			if all && strings.HasSuffix(e.GoName, goName(strings.ToLower(strings.TrimSuffix(p, "_")))) {
				prefix = p
				break
			}
		}
	}
	for _, v := range e.Values {
		if v.Const == "" {
			v.Const = e.GoName + goName(strings.ToLower(strings.TrimPrefix(v.Value, prefix)))
		} else {
			v.Const = e.GoName + v.Const
		}
	}
}

// checkConstClashes fails when two Go names of one family package collide
// (tree node types are checked when the tree is built).
func checkConstClashes(s *spec, fail func(string, ...any)) {
	seen := map[string]string{}
	claim := func(fam *family, name, by string) {
		k := fam.Package + "." + name
		if prev, ok := seen[k]; ok {
			fail("Go name %s is used by %s and %s", k, prev, by)
		}
		seen[k] = by
	}
	for _, e := range s.enums {
		claim(e.Family, e.GoName, "enum "+e.Name)
		for _, v := range e.Values {
			claim(e.Family, v.Const, "enum value "+e.Name+"."+v.Value)
		}
	}
	for _, m := range s.models {
		claim(m.Family, m.GoName, "model "+m.Name)
	}
}
