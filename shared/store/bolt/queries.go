package bolt

import (
	"bytes"
	"context"
	"encoding/json"

	bbolt "go.etcd.io/bbolt"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// startAsc positions c on the first key under pfx after the key after (or
// the first key under pfx when after is nil).
func startAsc(c *bbolt.Cursor, pfx, after []byte) ([]byte, []byte) {
	if after == nil {
		return c.Seek(pfx)
	}
	k, v := c.Seek(after)
	if k != nil && bytes.Equal(k, after) {
		return c.Next()
	}
	return k, v
}

// startDesc positions c on the last key under pfx before the key before (or
// the last key under pfx when before is nil). The caller checks the prefix.
func startDesc(c *bbolt.Cursor, pfx, before []byte) ([]byte, []byte) {
	bound := before
	if bound == nil {
		bound = prefixEnd(pfx)
		if bound == nil {
			return c.Last()
		}
	}
	k, _ := c.Seek(bound)
	if k == nil {
		return c.Last()
	}
	return c.Prev()
}

// Events pages through a conversation's timeline, oldest first.
func (s *Store) Events(ctx context.Context, conversationID string, p store.PageRequest) (store.Page[routing.Event], error) {
	return timeline[routing.Event](s, ctx, bEvents, tagEvents, conversationID, p, false)
}

// Notifications pages through an agent's notifications, newest first.
func (s *Store) Notifications(ctx context.Context, agentID string, p store.PageRequest) (store.Page[routing.Notification], error) {
	return timeline[routing.Notification](s, ctx, bNotifications, tagNotes, agentID, p, true)
}

func timeline[T any](s *Store, ctx context.Context, bucket []byte, tag byte, owner string, p store.PageRequest, desc bool) (store.Page[T], error) {
	var page store.Page[T]
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		pfx := prefix(owner)
		from, err := decodeCursor(p.Cursor, tag, pfx)
		if err != nil {
			return err
		}
		if hasSep(owner) {
			return nil
		}
		limit := p.EffectiveLimit()
		c := tx.Bucket(bucket).Cursor()
		step := c.Next
		var k, v []byte
		if desc {
			k, v = startDesc(c, pfx, from)
			step = c.Prev
		} else {
			k, v = startAsc(c, pfx, from)
		}
		var last []byte
		for ; k != nil && bytes.HasPrefix(k, pfx); k, v = step() {
			if len(page.Items) == limit {
				page.Next = encodeCursor(tag, last)
				break
			}
			var item T
			if err := json.Unmarshal(v, &item); err != nil {
				return internal("decode "+string(bucket), err)
			}
			page.Items = append(page.Items, item)
			last = append(last[:0], k...)
		}
		return nil
	})
	return page, err
}

// conversation list indexes, most selective first; the first whose field
// the filter sets is scanned and the other fields are filtered.
var convIndexes = []struct {
	bucket []byte
	field  func(store.ConversationFilter) string
}{
	{bConvByAgent, func(f store.ConversationFilter) string { return f.AssigneeID }},
	{bConvByContact, func(f store.ConversationFilter) string { return f.ContactID }},
	{bConvByTeam, func(f store.ConversationFilter) string { return f.TeamID }},
	{bConvByStatus, func(f store.ConversationFilter) string { return string(f.Status) }},
}

func matches(c routing.Conversation, f store.ConversationFilter) bool {
	if f.EscalationType != "" && (c.Escalation == nil || c.Escalation.Type != f.EscalationType) {
		return false
	}
	return (f.Status == "" || c.Status == f.Status) &&
		(f.TeamID == "" || c.TeamID == f.TeamID) &&
		(f.AssigneeID == "" || c.AssigneeID == f.AssigneeID) &&
		(f.ContactID == "" || c.ContactID == f.ContactID)
}

// ListConversations pages through conversations matching f, newest opened
// first. Pages are full: Next is "" exactly on the last page.
func (s *Store) ListConversations(ctx context.Context, f store.ConversationFilter) (store.Page[routing.Conversation], error) {
	var page store.Page[routing.Conversation]
	bucket, pfx, tag := bConvByOpened, []byte(nil), byte(tagConversations)
	for i, ix := range convIndexes {
		if v := ix.field(f); v != "" {
			bucket, pfx, tag = ix.bucket, prefix(v), byte(tagConversations+1+i)
			break
		}
	}
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		from, err := decodeCursor(f.Cursor, tag, pfx)
		if err != nil {
			return err
		}
		limit := f.EffectiveLimit()
		convs := tx.Bucket(bConversations)
		c := tx.Bucket(bucket).Cursor()
		var last []byte
		for k, _ := startDesc(c, pfx, from); k != nil && bytes.HasPrefix(k, pfx); k, _ = c.Prev() {
			if len(k) < len(pfx)+timeLen {
				return internal("list conversations", errCorruptIndex)
			}
			raw := convs.Get(k[len(pfx)+timeLen:])
			if raw == nil {
				return internal("list conversations", errCorruptIndex)
			}
			var conv routing.Conversation
			if err := json.Unmarshal(raw, &conv); err != nil {
				return internal("decode conversation", err)
			}
			if !matches(conv, f) {
				continue
			}
			if len(page.Items) == limit {
				page.Next = encodeCursor(tag, last)
				break
			}
			page.Items = append(page.Items, conv)
			last = append(last[:0], k...)
		}
		return nil
	})
	return page, err
}

// PendingQueue returns up to limit pending conversations of a team in queue order.
func (s *Store) PendingQueue(ctx context.Context, teamID string, limit int) ([]routing.Conversation, error) {
	limit = store.PageRequest{Limit: limit}.EffectiveLimit()
	var out []routing.Conversation
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		if teamID == "" || hasSep(teamID) {
			return nil
		}
		pfx := prefix(teamID)
		convs := tx.Bucket(bConversations)
		c := tx.Bucket(bQueue).Cursor()
		for k, _ := c.Seek(pfx); k != nil && bytes.HasPrefix(k, pfx) && len(out) < limit; k, _ = c.Next() {
			if len(k) < len(pfx)+1+timeLen {
				return internal("pending queue", errCorruptIndex)
			}
			raw := convs.Get(k[len(pfx)+1+timeLen:])
			if raw == nil {
				return internal("pending queue", errCorruptIndex)
			}
			var conv routing.Conversation
			if err := json.Unmarshal(raw, &conv); err != nil {
				return internal("decode conversation", err)
			}
			out = append(out, conv)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
