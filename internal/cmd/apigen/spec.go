package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// The YAML shapes of api/*.yaml (format: api/README.md). Decoding is strict:
// an unknown key is an error.

type yFile struct {
	Family     string             `yaml:"family"`
	Enums      map[string]*yEnum  `yaml:"enums"`
	Models     map[string]*yModel `yaml:"models"`
	Operations []*yOp             `yaml:"operations"`
	Events     []*yEvent          `yaml:"events"`
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
}

type yBody struct {
	Fields []*yField `yaml:"fields"`
	Model  string    `yaml:"model"`
}

type yResponse struct {
	Status     int       `yaml:"status"`
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
}

// ---- resolved form ----

type direction int

const (
	dirRequest direction = 1 << iota
	dirResponse
)

type enum struct {
	Name   string
	Doc    string
	Values []*enumValue
}

type enumValue struct {
	Value, Doc, Const string
}

// model is a Go struct type: a named model, a response model, a request, an
// event resource, or an inline object.
type model struct {
	Name      string
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
}

type op struct {
	y          *yOp
	ID         string
	Family     string
	Method     string
	Path       string
	PathParams []*field
	Query      []*field
	Body       []*field // nil when body-less
	HasBody    bool
	Request    *model // nil when the op has neither query nor body
	Status     int
	Response   *model // nil for 204 and undocumented responses
	Documented bool
}

type event struct {
	y     *yEvent
	Model *model
}

type spec struct {
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
		files = append(files, &f)
	}
	return resolve(files)
}

func resolve(files []*yFile) (*spec, error) {
	s := &spec{enums: map[string]*enum{}, models: map[string]*model{}}
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	// Enums first: fields refer to them.
	for _, f := range files {
		for name, ye := range f.Enums {
			if s.enums[name] != nil {
				fail("enum %s declared twice", name)
			}
			e := &enum{Name: name, Doc: ye.Doc}
			for _, v := range ye.Values {
				e.Values = append(e.Values, &enumValue{Value: v.Value, Doc: v.Doc, Const: v.GoName})
			}
			nameEnumConsts(e)
			s.enums[name] = e
		}
	}
	// Named models: declare, then fill (they refer to each other).
	yModels := map[string]*yModel{}
	for _, f := range files {
		for name, ym := range f.Models {
			if yModels[name] != nil {
				fail("model %s declared twice", name)
			}
			yModels[name] = ym
			s.models[name] = &model{Name: name, Doc: ym.Doc, Shared: true}
		}
	}
	r := &resolver{s: s, fail: fail}
	for name, ym := range yModels {
		s.models[name].Fields = r.fields(ym.Fields, name, "body")
	}

	ids := map[string]bool{}
	for _, f := range files {
		for _, yo := range f.Operations {
			if ids[yo.ID] {
				fail("operation id %s used twice", yo.ID)
			}
			ids[yo.ID] = true
			o := &op{y: yo, ID: yo.ID, Family: f.Family, Method: yo.Method, Path: yo.Path}
			if f.Family == "" {
				fail("%s: file has operations but no family", yo.ID)
			}
			r.op(o)
			s.ops = append(s.ops, o)
		}
		for _, ye := range f.Events {
			ev := &event{y: ye}
			switch {
			case ye.Model == "":
				fail("event %s has no model", ye.EventType)
			case len(ye.Fields) > 0:
				ev.Model = r.declare(ye.Model, ye.Summary, ye.Fields, "body")
			default:
				ev.Model = s.models[ye.Model]
				if ev.Model == nil {
					fail("event %s: unknown model %s", ye.EventType, ye.Model)
				}
			}
			if ev.Model != nil {
				markDir(ev.Model, dirResponse)
			}
			s.events = append(s.events, ev)
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
	}
	sort.Slice(s.modelList, func(i, j int) bool { return s.modelList[i].Name < s.modelList[j].Name })
	sort.Slice(s.ops, func(i, j int) bool {
		if s.ops[i].Path != s.ops[j].Path {
			return s.ops[i].Path < s.ops[j].Path
		}
		return methodOrder(s.ops[i].Method) < methodOrder(s.ops[j].Method)
	})
	checkConstClashes(s, fail)
	return s, errors.Join(errs...)
}

func methodOrder(m string) int {
	return strings.Index("GET POST PUT PATCH DELETE", m)
}

type resolver struct {
	s    *spec
	fail func(string, ...any)
}

// declare registers a model defined inline (a response model, an event model, an
// inline object).
func (r *resolver) declare(name, doc string, fs []*yField, location string) *model {
	if r.s.models[name] != nil {
		r.fail("model %s declared twice", name)
		return r.s.models[name]
	}
	m := &model{Name: name, Doc: doc}
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
			if f.Enum == nil {
				r.fail("%s: unknown enum %s", where, yf.Enum)
			}
		}
		isObject := yf.Type == "object" || yf.Type == "array" && yf.Items == "object"
		switch {
		case isObject && yf.Model != "":
			if len(yf.Fields) > 0 {
				r.fail("%s: both model and fields", where)
			}
			f.Model = r.s.models[yf.Model]
			if f.Model == nil {
				r.fail("%s: unknown model %s", where, yf.Model)
			}
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
	if yo.Request != nil {
		o.HasBody = true
		if yo.Request.Model != "" {
			m := r.s.models[yo.Request.Model]
			if m == nil {
				r.fail("%s: unknown request model %s", yo.ID, yo.Request.Model)
			} else {
				o.Body = m.Fields
			}
		} else {
			o.Body = r.fields(yo.Request.Fields, yo.ID, "body")
		}
	}
	if len(o.Query) > 0 || o.HasBody {
		req := &model{Name: yo.ID + "Request", IsRequest: true, Op: o}
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
	o.Documented = resp.Documented == nil || *resp.Documented
	switch {
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
		o.Response = r.s.models[resp.Model]
		if o.Response == nil {
			r.fail("%s: unknown response model %s", yo.ID, resp.Model)
		}
	}
	if o.Response != nil && o.Response.Doc == "" {
		o.Response.Doc = "the answer of " + yo.ID + ": " + yo.Summary
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
			if all && strings.HasSuffix(e.Name, goName(strings.ToLower(strings.TrimSuffix(p, "_")))) {
				prefix = p
				break
			}
		}
	}
	for _, v := range e.Values {
		if v.Const == "" {
			v.Const = e.Name + goName(strings.ToLower(strings.TrimPrefix(v.Value, prefix)))
		} else {
			v.Const = e.Name + v.Const
		}
	}
}

func checkConstClashes(s *spec, fail func(string, ...any)) {
	seen := map[string]string{}
	claim := func(name, by string) {
		if prev, ok := seen[name]; ok {
			fail("Go name %s is used by %s and %s", name, prev, by)
		}
		seen[name] = by
	}
	for _, e := range s.enums {
		claim(e.Name, "enum "+e.Name)
		for _, v := range e.Values {
			claim(v.Const, "enum value "+e.Name+"."+v.Value)
		}
	}
	for _, m := range s.models {
		claim(m.Name, "model "+m.Name)
	}
}
