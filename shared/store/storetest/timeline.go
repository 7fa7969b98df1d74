package storetest

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// timelineTimes returns n times in groups of four equal instants, half a
// second apart, so whole seconds ("09:00:00Z") sit next to fractions
// ("09:00:00.5Z") and ties must be broken by ID.
func timelineTimes(n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = at(time.Duration(i/4) * 500 * time.Millisecond)
	}
	return out
}

// shuffledIDs returns prefix_000.. prefix_n-1 in a fixed shuffled order, so
// ID order is unrelated to time order and insertion order.
func shuffledIDs(prefix string, n int, seed uint64) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s_%03d", prefix, i)
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	r.Shuffle(n, func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids
}

func shuffled[T any](xs []T, seed uint64) []T {
	out := slices.Clone(xs)
	r := rand.New(rand.NewPCG(seed, seed+1))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// commitChunks commits items in Txs of at most 20 (a Tx must stay small).
func commitEvents(t *testing.T, s store.Store, evs []routing.Event) {
	t.Helper()
	for start := 0; start < len(evs); start += 20 {
		commit(t, s, store.Tx{Events: evs[start:min(start+20, len(evs))]})
	}
}

func commitNotifications(t *testing.T, s store.Store, ns []routing.Notification) {
	t.Helper()
	for start := 0; start < len(ns); start += 20 {
		commit(t, s, store.Tx{Notifications: ns[start:min(start+20, len(ns))]})
	}
}

func eventLess(a, b routing.Event) int {
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

func (h harness) testEvents(t *testing.T) {
	// 120 events of cv_1 and 13 of cv_2 over the same instants.
	build := func() (all, want []routing.Event) {
		times := timelineTimes(120)
		ids := shuffledIDs("ev", 120, 1)
		for i := range 120 {
			e := newEvent(ids[i], "cv_1", times[i])
			all = append(all, e)
			want = append(want, e)
		}
		for i, tm := range timelineTimes(13) {
			all = append(all, newEvent(fmt.Sprintf("ev_x%02d", i), "cv_2", tm))
		}
		slices.SortFunc(want, eventLess)
		return shuffled(all, 2), want
	}
	h.run(t, "OrderAndPaging", func(t *testing.T, s store.Store) {
		all, want := build()
		commitEvents(t, s, all)
		for _, limit := range []int{7, 40, 1} {
			got := collect(t, limit, func(c string) (store.Page[routing.Event], error) {
				return s.Events(t.Context(), "cv_1", store.PageRequest{Cursor: c, Limit: limit})
			})
			wantIDs(t, fmt.Sprintf("events, limit %d (oldest first by At, ID)", limit), eventIDs(got), eventIDs(want))
		}
	})
	h.run(t, "DefaultAndMaxLimit", func(t *testing.T, s store.Store) {
		all, want := build()
		commitEvents(t, s, all)
		p, err := s.Events(t.Context(), "cv_1", store.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Next == "" {
			t.Fatal("first page of 120 events with the default limit: Next is empty")
		}
		wantIDs(t, "first page, default limit", eventIDs(p.Items), eventIDs(want[:store.DefaultLimit]))
		p, err = s.Events(t.Context(), "cv_1", store.PageRequest{Limit: 5000})
		if err != nil {
			t.Fatal(err)
		}
		if p.Next != "" {
			t.Fatalf("Limit over MaxLimit: Next %q, want \"\" (120 < MaxLimit)", p.Next)
		}
		wantIDs(t, "limit 5000", eventIDs(p.Items), eventIDs(want))
	})
	h.run(t, "RoundTrip", func(t *testing.T, s store.Store) {
		e := routing.Event{
			ID: "ev_1", ConversationID: "cv_1", At: time.Date(2025, 3, 3, 9, 0, 0, 987654321, time.UTC),
			Type: routing.EvAssigned, Actor: "workflow:wf_1", Note: "assigned by round robin",
			Data: map[string]any{"agentId": "ag_1", "team": "team_a", "attempt": 2.0, "ok": true},
		}
		commit(t, s, store.Tx{Events: []routing.Event{e}})
		p, err := s.Events(t.Context(), "cv_1", store.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 1 {
			t.Fatalf("got %d events, want 1", len(p.Items))
		}
		sameJSON(t, "event", p.Items[0], e)
	})
	h.run(t, "SameKeyOverwrites", func(t *testing.T, s store.Store) {
		e := newEvent("ev_1", "cv_1", at(time.Second))
		commit(t, s, store.Tx{Events: []routing.Event{e}})
		e.Note = "retried"
		commit(t, s, store.Tx{Events: []routing.Event{e}})
		p, err := s.Events(t.Context(), "cv_1", store.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 1 || p.Items[0].Note != "retried" {
			t.Fatalf("events after a repeated put: %+v, want one with Note \"retried\"", p.Items)
		}
	})
	h.run(t, "Empty", func(t *testing.T, s store.Store) {
		commitEvents(t, s, []routing.Event{newEvent("ev_1", "cv_2", t0)})
		p, err := s.Events(t.Context(), "cv_1", store.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 0 || p.Next != "" {
			t.Fatalf("no events: got %d items, Next %q", len(p.Items), p.Next)
		}
	})
	h.run(t, "SameKeyTwiceInOneTxKeepsLast", func(t *testing.T, s store.Store) {
		a, b := newEvent("ev_1", "cv_1", t0), newEvent("ev_1", "cv_1", t0)
		b.Note = "second"
		commit(t, s, store.Tx{Events: []routing.Event{a, b, newEvent("ev_2", "cv_1", t0)}})
		p, err := s.Events(t.Context(), "cv_1", store.PageRequest{})
		if err != nil || len(p.Items) != 2 || p.Items[0].Note != "second" {
			t.Fatalf("events %+v err %v; want ev_1 (second) and ev_2", p.Items, err)
		}
	})
	h.run(t, "BadCursor", func(t *testing.T, s store.Store) {
		commitEvents(t, s, []routing.Event{newEvent("ev_1", "cv_1", t0)})
		_, err := s.Events(t.Context(), "cv_1", store.PageRequest{Cursor: "%%% not a cursor"})
		wantCode(t, err, routing.CodeInvalid)
	})
}

func (h harness) testNotifications(t *testing.T) {
	build := func() (all, want []routing.Notification) {
		times := timelineTimes(70)
		ids := shuffledIDs("nt", 70, 3)
		for i := range 70 {
			n := newNotification(ids[i], "ag_1", times[i])
			all = append(all, n)
			want = append(want, n)
		}
		for i, tm := range timelineTimes(11) {
			all = append(all, newNotification(fmt.Sprintf("nt_x%02d", i), "ag_2", tm))
		}
		slices.SortFunc(want, func(a, b routing.Notification) int {
			if c := b.At.Compare(a.At); c != 0 {
				return c
			}
			return cmp.Compare(b.ID, a.ID)
		})
		return shuffled(all, 4), want
	}
	h.run(t, "NewestFirstPaged", func(t *testing.T, s store.Store) {
		all, want := build()
		commitNotifications(t, s, all)
		for _, limit := range []int{9, 70, 0} {
			got := collect(t, limit, func(c string) (store.Page[routing.Notification], error) {
				return s.Notifications(t.Context(), "ag_1", store.PageRequest{Cursor: c, Limit: limit})
			})
			wantIDs(t, fmt.Sprintf("notifications, limit %d (newest first, then ID descending)", limit), notificationIDs(got), notificationIDs(want))
		}
	})
	h.run(t, "RoundTrip", func(t *testing.T, s store.Store) {
		n := newNotification("nt_1", "ag_1", time.Date(2025, 3, 3, 9, 0, 0, 5, time.UTC))
		commit(t, s, store.Tx{Notifications: []routing.Notification{n}})
		p, err := s.Notifications(t.Context(), "ag_1", store.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 1 || p.Next != "" {
			t.Fatalf("got %d notifications Next %q, want 1 and \"\"", len(p.Items), p.Next)
		}
		sameJSON(t, "notification", p.Items[0], n)
	})
	h.run(t, "Empty", func(t *testing.T, s store.Store) {
		commitNotifications(t, s, []routing.Notification{newNotification("nt_1", "ag_2", t0)})
		p, err := s.Notifications(t.Context(), "ag_1", store.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 0 || p.Next != "" {
			t.Fatalf("no notifications: got %d items, Next %q", len(p.Items), p.Next)
		}
	})
	h.run(t, "SameKeyTwiceInOneTxKeepsLast", func(t *testing.T, s store.Store) {
		a, b := newNotification("nt_1", "ag_1", t0), newNotification("nt_1", "ag_1", t0)
		b.Text = "second"
		commit(t, s, store.Tx{Notifications: []routing.Notification{a, b}})
		p, err := s.Notifications(t.Context(), "ag_1", store.PageRequest{})
		if err != nil || len(p.Items) != 1 || p.Items[0].Text != "second" {
			t.Fatalf("notifications %+v err %v; want nt_1 (second)", p.Items, err)
		}
	})
	h.run(t, "BadCursor", func(t *testing.T, s store.Store) {
		commitNotifications(t, s, []routing.Notification{newNotification("nt_1", "ag_1", t0)})
		_, err := s.Notifications(t.Context(), "ag_1", store.PageRequest{Cursor: "%%% not a cursor"})
		wantCode(t, err, routing.CodeInvalid)
	})
}
