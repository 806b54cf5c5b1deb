package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/wxpaykit/wxpay"
)

func callCommand() *command {
	return &command{
		name: "call", args: "METHOD PATH", globals: true,
		short: "send a signed request to any endpoint and print the verified answer",
		long: `Sends METHOD PATH (e.g. POST /v3/marketing/membercard-open/cards/{card_id}/permission-tokens),
signed with the merchant key; the answer's signature is verified before it is printed as
indented JSON on stdout. {name} segments are filled with --path name=value.

The body comes from --json: a literal '{…}', @file, or - for stdin; --file FILE uploads a
file instead (multipart/form-data: meta {filename, sha256}, signed, then the file). Fields that WeChat Pay
requires encrypted are named with --encrypt and a JSON Pointer: their plaintext stays in the
file or on stdin (never on the command line) and is encrypted before sending, with
Wechatpay-Serial set.

Examples:
  wxpay call GET /v3/marketing/membercard-open/cards/{card_id} --path card_id=pbLat…
  wxpay call POST /v3/payroll-card/tokens --json @req.json --encrypt /user_name --encrypt /id_card_number
  echo '{"notify_url":"https://example.com/n"}' | wxpay call PATCH /v3/marketing/membercard-open/callback --json -
  wxpay call POST /v3/marketing/favor/media/image-upload --file logo.png`,
		setup: func(fs *flag.FlagSet) func(context.Context, IO, []string) error {
			var conn connFlags
			conn.register(fs)
			var paths, queries, headers, encrypt stringList
			fs.Var(&paths, "path", "path parameter `name=value` (repeatable)")
			fs.Var(&queries, "query", "query parameter `name=value` (repeatable)")
			fs.Var(&headers, "header", "extra header `Name:value` (repeatable)")
			fs.Var(&encrypt, "encrypt", "JSON `pointer` of a body string to encrypt (repeatable)")
			jsonArg := fs.String("json", "", "request body: '{…}', @file or - for stdin")
			fileArg := fs.String("file", "", "`file` to upload (multipart/form-data, signed over its meta part) instead of a JSON body")
			include := fs.Bool("i", false, "print the status line and headers before the body")
			return func(ctx context.Context, io IO, args []string) error {
				if len(args) != 2 {
					return usagef("call needs METHOD and PATH, got %d arguments", len(args))
				}
				method := strings.ToUpper(args[0])
				switch method {
				case "GET", "POST", "PUT", "PATCH", "DELETE":
				default:
					return usagef("unsupported method %q", args[0])
				}
				opts := []wxpay.CallOption{}
				for _, kv := range paths {
					k, v, ok := strings.Cut(kv, "=")
					if !ok {
						return usagef("--path %q: want name=value", kv)
					}
					opts = append(opts, wxpay.PathParam(k, v))
				}
				for _, kv := range queries {
					k, v, ok := strings.Cut(kv, "=")
					if !ok {
						return usagef("--query %q: want name=value", kv)
					}
					opts = append(opts, wxpay.Query(k, v))
				}
				for _, kv := range headers {
					k, v, ok := strings.Cut(kv, ":")
					if !ok {
						return usagef("--header %q: want Name:value", kv)
					}
					opts = append(opts, wxpay.Header(strings.TrimSpace(k), strings.TrimSpace(v)))
				}
				if *fileArg != "" {
					if method != "POST" || *jsonArg != "" || len(encrypt) > 0 {
						return usagef("--file uploads with POST, without --json or --encrypt")
					}
					f, err := os.Open(*fileArg)
					if err != nil {
						return usagef("%v", err)
					}
					defer f.Close()
					client, _, err := conn.client(io)
					if err != nil {
						return err
					}
					resp, err := client.Chain(args[1]).Upload(ctx, filepath.Base(*fileArg), f, opts...)
					if err != nil {
						return err
					}
					return printResponse(io.Stdout, resp, *include)
				}
				body, err := readBody(*jsonArg, io.Stdin, encrypt)
				if err != nil {
					return err
				}
				hasBody := method == "POST" || method == "PUT" || method == "PATCH"
				if body != nil && !hasBody {
					return usagef("%s takes no body", method)
				}
				if hasBody && body == nil {
					body = json.RawMessage("{}")
				}
				client, _, err := conn.client(io)
				if err != nil {
					return err
				}
				ep := client.Chain(args[1])
				var resp *wxpay.Response
				switch method {
				case "GET":
					resp, err = ep.Get(ctx, opts...)
				case "DELETE":
					resp, err = ep.Delete(ctx, opts...)
				case "POST":
					resp, err = ep.Post(ctx, body, opts...)
				case "PUT":
					resp, err = ep.Put(ctx, body, opts...)
				case "PATCH":
					resp, err = ep.Patch(ctx, body, opts...)
				}
				if err != nil {
					return err
				}
				return printResponse(io.Stdout, resp, *include)
			}
		},
	}
}

// readBody loads the --json argument and marks --encrypt fields Sensitive.
func readBody(arg string, stdin io.Reader, encrypt []string) (any, error) {
	var raw []byte
	switch {
	case arg == "":
		if len(encrypt) > 0 {
			return nil, usagef("--encrypt needs a --json body")
		}
		return nil, nil
	case arg == "-":
		b, err := io.ReadAll(io.LimitReader(stdin, 1<<20+1))
		if err != nil {
			return nil, err
		}
		raw = b
	case strings.HasPrefix(arg, "@"):
		b, err := readSmallFile(arg[1:])
		if err != nil {
			return nil, err
		}
		raw = b
	default:
		raw = []byte(arg)
	}
	if len(raw) > 1<<20 {
		return nil, usagef("request body larger than 1 MiB")
	}
	if len(encrypt) == 0 {
		if !json.Valid(raw) {
			return nil, usagef("--json is not valid JSON")
		}
		return json.RawMessage(bytes.TrimSpace(raw)), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, usagef("--json is not valid JSON: %v", err)
	}
	for _, ptr := range encrypt {
		if err := markSensitive(&v, ptr); err != nil {
			return nil, usagef("--encrypt %s: %v", ptr, err)
		}
	}
	return v, nil
}

// markSensitive replaces the string at JSON Pointer ptr with a wxpay.Sensitive.
func markSensitive(root *any, ptr string) error {
	if !strings.HasPrefix(ptr, "/") {
		return fmt.Errorf("a JSON Pointer starts with /")
	}
	parts := strings.Split(ptr[1:], "/")
	cur := root
	for i, p := range parts {
		p = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
		var next *any
		switch node := (*cur).(type) {
		case map[string]any:
			v, ok := node[p]
			if !ok {
				return fmt.Errorf("no member %q", p)
			}
			if i == len(parts)-1 {
				s, ok := v.(string)
				if !ok {
					return fmt.Errorf("not a string")
				}
				node[p] = wxpay.Sensitive(s)
				return nil
			}
			next = &v // maps and slices are references: edits below land in root
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n >= len(node) {
				return fmt.Errorf("no element %q", p)
			}
			if i == len(parts)-1 {
				s, ok := node[n].(string)
				if !ok {
					return fmt.Errorf("not a string")
				}
				node[n] = wxpay.Sensitive(s)
				return nil
			}
			next = &node[n]
		default:
			return fmt.Errorf("%q is not inside an object or array", p)
		}
		cur = next
	}
	return nil
}

func printResponse(w io.Writer, resp *wxpay.Response, include bool) error {
	if include {
		fmt.Fprintf(w, "HTTP %d %s\n", resp.StatusCode, http.StatusText(resp.StatusCode))
		keys := make([]string, 0, len(resp.Header))
		for k := range resp.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "%s: %s\n", k, strings.Join(resp.Header[k], ", "))
		}
		fmt.Fprintln(w)
	}
	if len(resp.Body) == 0 {
		return nil
	}
	var out bytes.Buffer
	if err := json.Indent(&out, resp.Body, "", "  "); err != nil {
		_, err = w.Write(append(resp.Body, '\n'))
		return err
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}
