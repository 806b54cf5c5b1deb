package emulator

import (
	"crypto/sha256"
	"encoding/json"
	"strconv"
)

type idemKey struct{ mchID, op, no string }

// idem is a remembered idempotent request: the hash of its content and its answer.
type idem struct {
	hash   [32]byte
	answer answer
}

// fingerprint hashes a request's content (path parameters, query and body) with
// decrypted values in place of ciphertexts (OAEP is randomised: the same
// plaintext never encrypts twice the same), so that "the same request" can be
// told from "the same number with different parameters".
func (r *request) fingerprint() [32]byte {
	b, _ := json.Marshal(map[string]any{"path": r.params, "query": r.query, "body": plainCopy(r.body, "", r.plain)})
	return sha256.Sum256(b)
}

func plainCopy(v any, ptr string, plain map[string]string) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = plainCopy(x, ptr+"/"+k, plain)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = plainCopy(x, ptr+"/"+strconv.Itoa(i), plain)
		}
		return out
	case string:
		if p, ok := plain["body:"+ptr]; ok {
			return "plain:" + p
		}
	}
	return v
}
