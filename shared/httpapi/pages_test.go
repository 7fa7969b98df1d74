package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/httpapi"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
)

// subjectAuth authenticates "Bearer <subject>:<role>".
type subjectAuth struct{}

func (subjectAuth) Authenticate(r *http.Request) (auth.Principal, error) {
	var sub, role string
	if _, err := fmt.Sscanf(r.Header.Get("Authorization"), "Bearer %s", &sub); err != nil {
		return auth.Principal{}, routing.Errorf(routing.CodeUnauthenticated, "no token")
	}
	for i := range sub {
		if sub[i] == ':' {
			sub, role = sub[:i], sub[i+1:]
			break
		}
	}
	return auth.Principal{Subject: sub, Role: routing.Role(role)}, nil
}

// An agent sees only some conversations (their own, their teams' pending
// ones), and every page they get is full but the last: the engine filters
// inside its paging loop, never after it.
func TestAgentNeverGetsAShortPage(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewVirtual(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	eng := engine.New(engine.Deps{Store: st, Clock: clk, IDs: &ids.Sequence{}}, engine.DefaultConfig())
	admin := engine.Person("root", routing.RoleAdmin)
	if _, err := eng.CreateTeam(ctx, routing.Team{ID: "t", Name: "T", Strategy: routing.RoundRobin, OnlineOnly: true}, admin); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if _, err := eng.CreateAgent(ctx, routing.Agent{ID: id, Name: id, MaxConcurrent: 20, Teams: []string{"t"}, Status: routing.StatusOnline}, admin); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := eng.CreateChannel(ctx, routing.Channel{ID: "c", Provider: "generic", SecretRef: "env:X", Config: map[string]string{"team": "t"}}, admin)
	if err != nil {
		t.Fatal(err)
	}
	mine := map[string]bool{}
	for i := range 15 {
		phone := fmt.Sprintf("+3460000%04d", i)
		in, err := eng.Ingest(ctx, ch, engine.Inbound{MessageID: fmt.Sprint("m", i), From: phone, Phone: phone, Text: "hola"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := eng.RouteDefault(ctx, in.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		if res.AgentID == "a" {
			mine[in.ConversationID] = true
		}
	}
	if len(mine) == 0 || len(mine) == 15 {
		t.Fatalf("a holds %d of 15: the test needs others' conversations between a's", len(mine))
	}
	api := httpapi.New(httpapi.Config{Engine: eng, Auth: subjectAuth{}})

	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("too many pages")
		}
		r := httptest.NewRequest("GET", "/v1/conversations?limit=2&cursor="+url.QueryEscape(cursor), nil)
		r.Header.Set("Authorization", "Bearer a:agent")
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		var pg struct {
			Items []struct {
				ID         string `json:"id"`
				AssigneeID string `json:"assigneeId"`
			} `json:"items"`
			Next *string `json:"next"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &pg); err != nil {
			t.Fatal(err)
		}
		for _, c := range pg.Items {
			if !mine[c.ID] || seen[c.ID] {
				t.Fatalf("page %d: %s (assignee %q) is not one of a's, or seen twice", pages, c.ID, c.AssigneeID)
			}
			seen[c.ID] = true
		}
		if pg.Next == nil {
			break
		}
		if len(pg.Items) != 2 {
			t.Fatalf("page %d has %d items and a next page: a short page", pages, len(pg.Items))
		}
		cursor = *pg.Next
	}
	if len(seen) != len(mine) {
		t.Fatalf("a saw %d of their %d conversations", len(seen), len(mine))
	}
}
