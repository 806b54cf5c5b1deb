// Package apispec is the api/ spec in Go form: every operation with its parameters,
// body and response fields, and every notification event. The data is generated
// from api/*.yaml (zz_spec.go); the emulator validates requests against it and
// synthesises responses from it.
package apispec

import (
	"net/url"
	"strings"
)

// Type is a JSON type as the spec names it.
type Type string

// The JSON types of the spec.
const (
	String  Type = "string"
	Integer Type = "integer"
	Number  Type = "number"
	Boolean Type = "boolean"
	Object  Type = "object"
	Array   Type = "array"
	File    Type = "file" // the file part of an upload
)

// Field is one path/query parameter, body field or response field.
type Field struct {
	Name       string
	Type       Type
	Items      Type // element type of an Array
	Required   bool
	MaxLength  int      // 0: not stated
	Enum       []string // allowed values, nil when unrestricted
	EnumName   string   // Go name of the enum type, "" when unrestricted
	Pattern    string   // Go regexp the whole value must match, "" when none
	Encrypted  bool     // request: OAEP for WeChat Pay; response: OAEP for the merchant
	Personal   bool     // plaintext personal data
	JSONString bool     // a JSON document carried as a string
	Model      string   // Go name of the object model, "" for inline objects
	Fields     []*Field // children of an Object, or of an Array of Object
	Doc        string
}

// Error is a documented business error of an operation.
type Error struct {
	Status  int
	Code    string
	Message string
	Doc     string
}

// Operation is one APIv3 operation.
type Operation struct {
	ID        string // Go name; the request type is ID + "Request"
	Family    string // brand-card-member | membercard-open | payroll-card
	Method    string
	Path      string // template, e.g. /v3/marketing/membercard-open/cards/{card_id}/permission-tokens
	Summary   string
	TitleZh   string
	Docs      []string
	Callers   []string
	RateLimit int // requests per second, 0 when not stated
	// Idempotent: repeating the request cannot duplicate its effect.
	Idempotent bool
	Legacy     string
	PathParams []*Field
	Query      []*Field
	Body       []*Field // nil for body-less requests
	HasBody    bool
	// ResponseStatus is 200 (JSON body) or 204 (no body).
	ResponseStatus int
	// ListOffset is what the offset parameter of a paged list counts: "item"
	// (the index of the first item) or "page" (the index of the page); "" for
	// operations that are not paged lists.
	ListOffset string
	// Upload: a media upload (multipart/form-data: meta, then file), with each
	// accepted extension's largest size in bytes; nil for JSON requests.
	Upload map[string]int64
	// ResponseStream: the answer is a file, unsigned by design.
	ResponseStream     bool
	ResponseModel      string
	Response           []*Field
	ResponseDocumented bool
	Errors             []Error
}

// EncryptsRequest reports whether any request field is encrypted, so the request
// must carry Wechatpay-Serial.
func (op *Operation) EncryptsRequest() bool { return anyEncrypted(op.Body) || anyEncrypted(op.Query) }

func anyEncrypted(fs []*Field) bool {
	for _, f := range fs {
		if f.Encrypted || anyEncrypted(f.Fields) {
			return true
		}
	}
	return false
}

// Event is a notification event type and its decrypted resource.
type Event struct {
	EventType    string // e.g. MEMBERCARD.ACTIVATE_CARD
	Model        string // Go name of the decrypted resource
	OriginalType string // resource.original_type
	SummaryZh    string
	Summary      string
	Docs         []string
	Retry        string
	Fields       []*Field
}

// Match finds the operation for a method and an escaped request path (no query)
// and returns its path parameters, unescaped. Literal segments win over
// parameters, so /cards/deposit never matches /cards/{card_id}.
func Match(method, path string) (*Operation, map[string]string, bool) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var best *Operation
	var bestParams map[string]string
	bestScore := -1
	for _, op := range operations {
		if op.Method != method {
			continue
		}
		params, score, ok := matchTemplate(op.Path, segs)
		if ok && score > bestScore {
			best, bestParams, bestScore = op, params, score
		}
	}
	return best, bestParams, best != nil
}

// PathExists reports whether any operation has this path, whatever its method,
// so callers can answer 405 rather than 404.
func PathExists(path string) bool {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, op := range operations {
		if _, _, ok := matchTemplate(op.Path, segs); ok {
			return true
		}
	}
	return false
}

func matchTemplate(tmpl string, segs []string) (map[string]string, int, bool) {
	tsegs := strings.Split(strings.TrimPrefix(tmpl, "/"), "/")
	if len(tsegs) != len(segs) {
		return nil, 0, false
	}
	var params map[string]string
	score := 0
	for i, t := range tsegs {
		if strings.HasPrefix(t, "{") {
			v, err := url.PathUnescape(segs[i])
			if err != nil || v == "" {
				return nil, 0, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[t[1:len(t)-1]] = v
			continue
		}
		if t != segs[i] {
			return nil, 0, false
		}
		score++
	}
	return params, score, true
}

// Operations returns every operation of the spec, in spec order.
func Operations() []*Operation { return operations }

// Events returns every notification event of the spec.
func Events() []*Event { return events }

// EventByType returns the event with the given event_type.
func EventByType(t string) (*Event, bool) {
	for _, e := range events {
		if e.EventType == t {
			return e, true
		}
	}
	return nil, false
}

// ByID returns the operation with the given ID.
func ByID(id string) (*Operation, bool) {
	for _, op := range operations {
		if op.ID == id {
			return op, true
		}
	}
	return nil, false
}
