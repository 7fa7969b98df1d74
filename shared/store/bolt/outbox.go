package bolt

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"

	bbolt "go.etcd.io/bbolt"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// GetClaim returns a stored claim and its recorded value, expired or not.
func (s *Store) GetClaim(ctx context.Context, key string) (store.Claim, error) {
	var c store.Claim
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bClaims).Get([]byte(key))
		if raw == nil || key == "" {
			return routing.NotFound("claim", key)
		}
		if len(raw) < timeLen {
			return internal("claim", errors.New("corrupt claim record"))
		}
		c = store.Claim{Key: key, ExpiresAt: decodeTime(raw[:timeLen]), Value: string(raw[timeLen:])}
		return nil
	})
	return c, err
}

// Outbox is the store's outbox feed: entries in commit order, removed by Ack.
// The embedded server's relay reads it; entries committed before a crash are
// still there after the restart.
func (s *Store) Outbox() store.OutboxFeed { return outboxFeed{s} }

type outboxFeed struct{ s *Store }

// Next returns up to limit entries, oldest commit first.
func (f outboxFeed) Next(ctx context.Context, limit int) ([]store.OutboxEntry, error) {
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	var out []store.OutboxEntry
	err := f.s.view(ctx, func(tx *bbolt.Tx) error {
		c := tx.Bucket(bOutbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			var e store.OutboxEntry
			if err := json.Unmarshal(v, &e.OutboxEvent); err != nil {
				return internal("decode outbox entry", err)
			}
			e.Seq = hex.EncodeToString(k)
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Ack deletes published entries.
func (f outboxFeed) Ack(ctx context.Context, entries []store.OutboxEntry) error {
	if len(entries) == 0 {
		return ctx.Err()
	}
	keys := make([][]byte, 0, len(entries))
	for _, e := range entries {
		k, err := hex.DecodeString(e.Seq)
		if err != nil || len(k) != 8 {
			continue // not ours: ignored like any unknown entry
		}
		keys = append(keys, k)
	}
	return commitError(f.s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bOutbox)
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	}))
}
