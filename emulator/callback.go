package emulator

import (
	"net/http"
)

func (e *Emulator) setCallback(r *request) answer {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	e.state.callbacks[r.mchID] = str(r.body, "notify_url")
	return ok(map[string]any{"notify_url": str(r.body, "notify_url"), "mchid": r.mchID})
}

func (e *Emulator) getCallback(r *request) answer {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	u, ok2 := e.state.callbacks[r.mchID]
	if !ok2 {
		return apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "未设置回调地址", nil)
	}
	return ok(map[string]any{"notify_url": u, "mchid": r.mchID})
}
