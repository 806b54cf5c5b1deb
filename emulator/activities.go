package emulator

import (
	"net/http"
	"time"
)

// Brand-member coupon activities (membership-activities): created on a card
// of a brand the caller serves, listed, updated and terminated. The state
// follows the clock: CREATED before begin_time, EFFECTIVE until end_time,
// EXPIRED after, TERMINATED once terminated.

const activityTerminated = "MEMBERSHIP_ACTIVITY_TERMINATED"

// addActivity stores an activity record. The caller holds the lock.
func (s *state) addActivity(a map[string]any) {
	id := str(a, "activity_id")
	s.activities[id] = a
	s.activityOrder = append(s.activityOrder, id)
}

// activityView is the activity as answered, with its state at now.
func activityView(a map[string]any, now time.Time) map[string]any {
	v := copyMap(a)
	if str(a, "activity_state") == activityTerminated {
		return v
	}
	begin, errBegin := time.Parse(time.RFC3339, str(a, "begin_time"))
	end, errEnd := time.Parse(time.RFC3339, str(a, "end_time"))
	switch {
	case errBegin == nil && now.Before(begin):
		v["activity_state"] = "MEMBERSHIP_ACTIVITY_CREATED"
	case errEnd == nil && !now.Before(end):
		v["activity_state"] = "MEMBERSHIP_ACTIVITY_EXPIRED"
	default:
		v["activity_state"] = "MEMBERSHIP_ACTIVITY_EFFECTIVE"
	}
	return v
}

// activity finds the activity of the path, of the brand that the query or
// body names, for the brand's service provider. The caller holds the lock.
func (s *state) activity(r *request) (map[string]any, *answer) {
	brandID := r.query.Get("brand_id")
	if brandID == "" {
		brandID = str(r.body, "brand_id")
	}
	if !s.servesBrand(brandID, r.mchID) {
		a := brandNotServed()
		return nil, &a
	}
	act := s.activities[r.params["activity_id"]]
	if act == nil || str(act, "brand_id") != brandID {
		a := apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "活动不存在", nil)
		return nil, &a
	}
	return act, nil
}

// createActivity is idempotent by out_request_no per caller.
func (e *Emulator) createActivity(r *request) answer {
	return owned(e, r, (*state).bodyBrandCard, func(*Card) answer {
		s := &e.state
		key := idemKey{r.mchID, "membership-activities", str(r.body, "out_request_no")}
		fp := r.fingerprint()
		if prev, seen := s.replay(key, fp, reusedNumber); seen {
			return prev
		}
		act := copyMap(r.body)
		id := e.randString(6, "0123456789")
		for s.activities[id] != nil {
			id = e.randString(6, "0123456789")
		}
		now := rfc3339(e.nowCST())
		act["activity_id"], act["apply_available"], act["create_time"], act["modify_time"] = id, r.body["apply_total"], now, now
		s.addActivity(act)
		an := e.rendered(r, activityView(act, e.nowCST()))
		s.remember(key, fp, an)
		return an
	})
}

func (e *Emulator) getActivity(r *request) answer {
	return owned(e, r, (*state).activity, func(act map[string]any) answer {
		return e.rendered(r, activityView(act, e.nowCST()))
	})
}

// updateActivity changes the title and the time window.
func (e *Emulator) updateActivity(r *request) answer {
	return owned(e, r, (*state).activity, func(act map[string]any) answer {
		for _, k := range []string{"title", "sub_title", "begin_time", "end_time"} {
			if v, ok := r.body[k]; ok {
				act[k] = v
			}
		}
		act["modify_time"] = rfc3339(e.nowCST())
		return e.rendered(r, activityView(act, e.nowCST()))
	})
}

func (e *Emulator) terminateActivity(r *request) answer {
	return owned(e, r, (*state).activity, func(act map[string]any) answer {
		if str(act, "activity_state") != activityTerminated {
			act["activity_state"] = activityTerminated
			act["modify_time"] = rfc3339(e.nowCST())
		}
		return e.rendered(r, activityView(act, e.nowCST()))
	})
}

// listActivities lists a brand's activities in creation order, optionally of
// one card and in one state.
func (e *Emulator) listActivities(r *request) answer {
	brandID, cardID, want := r.query.Get("brand_id"), r.query.Get("card_id"), r.query.Get("activity_state")
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.servesBrand(brandID, r.mchID) {
		return brandNotServed()
	}
	now := e.nowCST()
	var matched []map[string]any
	for _, id := range s.activityOrder {
		v := activityView(s.activities[id], now)
		if str(v, "brand_id") != brandID || (cardID != "" && str(v, "card_id") != cardID) || (want != "" && str(v, "activity_state") != want) {
			continue
		}
		matched = append(matched, v)
	}
	return listPage(e, r, matched, func(v map[string]any) any { return v })
}
