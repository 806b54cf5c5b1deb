package core

import (
	"net/http"
	"net/url"
)

// CallOption sets a per-call detail: a path parameter, a query parameter, a
// header. Package wxpay provides them (wxpay.PathParam, wxpay.Query,
// wxpay.Header, wxpay.Idempotent, wxpay.WithoutValidation).
type CallOption func(*CallConfig)

// CallConfig is what the options of one call add up to. The client reads it;
// set it through the options of package wxpay.
type CallConfig struct {
	Params         map[string]string // {name} → value, for Chain templates
	Query          url.Values
	Header         http.Header
	SkipValidation bool           // typed calls: do not run Validate before sending
	Idempotent     bool           // safe to repeat after an unknown outcome
	Meta           map[string]any // extra members of an upload's meta JSON
	Err            error          // the first option error; the call fails with it
}

// SetErr records err unless an earlier option already failed.
func (c *CallConfig) SetErr(err error) {
	if c.Err == nil {
		c.Err = err
	}
}

// Apply runs opts (nil entries are skipped) and returns the first option error.
func Apply(opts []CallOption) (CallConfig, error) {
	var cfg CallConfig
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return cfg, cfg.Err
}
