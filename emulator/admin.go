package emulator

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
)

// adminPrefix is where the emulator's own, unauthenticated endpoints live, for
// tests that run it in another process. They are outside /v3 and read-only.
const adminPrefix = "/_emulator/"

// serveAdmin answers:
//
//	GET /_emulator/memberships?card_id=…  → {"count": n, "memberships": [{card_id, openid, code, request_no, state, created}]}
//	GET /_emulator/deliveries             → the notification deliveries
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) int {
	write := func(status int, v any) int {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
		return status
	}
	if r.Method != http.MethodGet {
		return write(http.StatusMethodNotAllowed, map[string]string{"code": "INVALID_REQUEST", "message": "GET only"})
	}
	switch r.URL.Path {
	case adminPrefix + "memberships":
		type row struct {
			CardID    string `json:"card_id"`
			OpenID    string `json:"openid"`
			Code      string `json:"code"`
			RequestNo string `json:"request_no"`
			State     string `json:"state"`
			Created   string `json:"created"`
		}
		cards := []string{r.URL.Query().Get("card_id")}
		if cards[0] == "" {
			cards = e.CardIDs()
		}
		out := []row{}
		for _, c := range cards {
			for _, m := range e.Memberships(c) {
				out = append(out, row{m.CardID, m.OpenID, m.Code, m.RequestNo, m.State, rfc3339(m.Created)})
			}
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].CardID < out[j].CardID })
		return write(http.StatusOK, map[string]any{"count": len(out), "memberships": out})
	case adminPrefix + "deliveries":
		return write(http.StatusOK, map[string]any{"deliveries": e.Deliveries()})
	}
	return write(http.StatusNotFound, map[string]string{"code": "RESOURCE_NOT_EXISTS", "message": "unknown admin endpoint " + strconv.Quote(r.URL.Path)})
}
