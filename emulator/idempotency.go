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

// reusedNumber answers an idempotency key sent again with other parameters
// (protocol §7.5).
const reusedNumber = "请确认相同单号是否使用了不同的参数"

// replay answers a request whose key was seen before: with the remembered
// answer when the content is the same, with 400 INVALID_REQUEST conflict when
// it differs. seen is false for a new key. The caller holds the lock.
func (s *state) replay(key idemKey, fp [32]byte, conflict string) (an answer, seen bool) {
	prev := s.idem[key]
	switch {
	case prev == nil:
		return answer{}, false
	case prev.hash != fp:
		return invalidRequest(conflict), true
	}
	return prev.answer, true
}

// remember keeps the answer to replay for key. The caller holds the lock.
func (s *state) remember(key idemKey, fp [32]byte, an answer) {
	s.idem[key] = &idem{hash: fp, answer: an}
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
