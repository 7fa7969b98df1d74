// Package aslruns is the embedded ASL runner's durable run store: an
// asl.RunStore in a bbolt file of its own, so shared/asl stays free of bbolt
// and the local server's workflow runs survive a restart.
package aslruns

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-oss/switchboard/shared/asl"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Store keeps executions in a bbolt file of its own. Executions, their
// histories, task tokens and timers survive a restart: open the same file
// again, build an asl.Runner on it and call RunDue (or Run).
type Store struct {
	db *bolt.DB
}

var (
	bucketRecords = []byte("executions")
	bucketMeta    = []byte("meta")
	bucketEvents  = []byte("events")
	bucketTokens  = []byte("tokens")
	bucketTimers  = []byte("timers")
)

// Open opens (creating if needed) the store at path. Only one process may
// have the file open at a time; Close releases it.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("asl: open run store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRecords, bucketMeta, bucketEvents, bucketTokens, bucketTimers} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("asl: init run store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// boltMeta is the small per-execution entry Save checks and updates.
type boltMeta struct {
	Version int64     `json:"v"`
	Token   string    `json:"t,omitempty"`
	WakeAt  time.Time `json:"w,omitzero"`
}

// timerKey orders timers by time then name: 8 bytes of sortable nanoseconds.
func timerKey(at time.Time, name string) []byte {
	k := make([]byte, 8, 8+len(name))
	binary.BigEndian.PutUint64(k, uint64(at.UnixNano())^(1<<63))
	return append(k, name...)
}

func parseTimerKey(k []byte) asl.Timer {
	ns := int64(binary.BigEndian.Uint64(k[:8]) ^ (1 << 63))
	return asl.Timer{At: time.Unix(0, ns).UTC(), Name: string(k[8:])}
}

// eventKey is name, a zero byte (names never contain one) and the event id.
func eventKey(name string, id int64) []byte {
	k := make([]byte, 0, len(name)+9)
	k = append(k, name...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, uint64(id))
}

// Load implements asl.RunStore.
func (s *Store) Load(_ context.Context, name string) (*asl.Record, error) {
	var rec *asl.Record
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRecords).Get([]byte(name))
		if b == nil {
			return routing.NotFound("execution", name)
		}
		rec = &asl.Record{}
		return json.Unmarshal(b, rec)
	})
	return rec, err
}

// Save implements asl.RunStore.
func (s *Store) Save(_ context.Context, rec *asl.Record, events []asl.HistoryEvent) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	meta, err := json.Marshal(boltMeta{Version: rec.Version, Token: rec.Token, WakeAt: rec.WakeAt})
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMeta)
		var old *asl.Record
		if ob := mb.Get([]byte(rec.Name)); ob != nil {
			var m boltMeta
			if err := json.Unmarshal(ob, &m); err != nil {
				return err
			}
			old = &asl.Record{Version: m.Version, Token: m.Token, WakeAt: m.WakeAt}
		}
		if err := asl.CheckVersion(rec.Name, old, rec.Version); err != nil {
			return err
		}
		tokens, timers := tx.Bucket(bucketTokens), tx.Bucket(bucketTimers)
		if old != nil {
			if old.Token != "" {
				if err := tokens.Delete([]byte(old.Token)); err != nil {
					return err
				}
			}
			if !old.WakeAt.IsZero() {
				if err := timers.Delete(timerKey(old.WakeAt, rec.Name)); err != nil {
					return err
				}
			}
		}
		if err := mb.Put([]byte(rec.Name), meta); err != nil {
			return err
		}
		if err := tx.Bucket(bucketRecords).Put([]byte(rec.Name), data); err != nil {
			return err
		}
		eb := tx.Bucket(bucketEvents)
		for _, ev := range events {
			b, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			if err := eb.Put(eventKey(rec.Name, ev.ID), b); err != nil {
				return err
			}
		}
		if rec.Token != "" {
			if err := tokens.Put([]byte(rec.Token), []byte(rec.Name)); err != nil {
				return err
			}
		}
		if !rec.WakeAt.IsZero() {
			if err := timers.Put(timerKey(rec.WakeAt, rec.Name), nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// History implements asl.RunStore.
func (s *Store) History(_ context.Context, name string) ([]asl.HistoryEvent, error) {
	var out []asl.HistoryEvent
	err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketRecords).Get([]byte(name)) == nil {
			return routing.NotFound("execution", name)
		}
		prefix := append([]byte(name), 0)
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var ev asl.HistoryEvent
			if err := json.Unmarshal(v, &ev); err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

// TokenOwner implements asl.RunStore.
func (s *Store) TokenOwner(_ context.Context, token string) (string, error) {
	var name string
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketTokens).Get([]byte(token))
		if v == nil {
			return routing.NotFound("task token", token)
		}
		name = string(v)
		return nil
	})
	return name, err
}

// Due implements asl.RunStore.
func (s *Store) Due(_ context.Context, now time.Time, limit int) ([]asl.Timer, error) {
	var out []asl.Timer
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketTimers).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			t := parseTimerKey(k)
			if t.At.After(now) {
				break
			}
			out = append(out, t)
		}
		return nil
	})
	return out, err
}

// NextWake implements asl.RunStore.
func (s *Store) NextWake(context.Context) (time.Time, bool, error) {
	var at time.Time
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketTimers).Cursor().First(); k != nil {
			at, ok = parseTimerKey(k).At, true
		}
		return nil
	})
	return at, ok, err
}

var _ asl.RunStore = (*Store)(nil)
