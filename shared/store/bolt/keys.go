package bolt

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Keys of composite indexes are parts joined by a 0x00 separator (ids never
// hold one: Commit refuses them), with fixed-width big-endian numbers, so a
// cursor scan over a prefix yields index order.

const sep = 0x00

// timeLen is the width of an encoded time.
const timeLen = 12

// appendTime appends t as 12 bytes that sort like t: seconds since the Unix
// epoch with the sign bit flipped, then nanoseconds. Every time.Time fits,
// including the zero time.
func appendTime(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

func decodeTime(b []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
	return time.Unix(sec, int64(binary.BigEndian.Uint32(b[8:]))).UTC()
}

// prefix returns part + 0x00: the prefix of every key under part.
func prefix(part string) []byte {
	b := make([]byte, 0, len(part)+1+timeLen+24)
	b = append(b, part...)
	return append(b, sep)
}

// timedKey is prefix(part) + time + id.
func timedKey(part string, t time.Time, id string) []byte {
	b := appendTime(prefix(part), t)
	return append(b, id...)
}

// pairKey is a + 0x00 + b.
func pairKey(a, b string) []byte { return append(prefix(a), b...) }

// versionKey is workflowID + 0x00 + the number as 8 big-endian bytes.
func versionKey(workflowID string, n int) []byte {
	return binary.BigEndian.AppendUint64(prefix(workflowID), uint64(n)^(1<<63))
}

// queueKey orders a team's pending queue: rank, PendingSince, ID.
func queueKey(c routing.Conversation) []byte {
	b := append(prefix(c.TeamID), byte(c.Rank()))
	b = appendTime(b, c.PendingSince)
	return append(b, c.ID...)
}

// hasSep reports whether s holds the key separator.
func hasSep(s string) bool { return strings.IndexByte(s, sep) >= 0 }

// Page cursors are base64url of a one-byte query tag and the last key
// returned. A cursor is accepted only by the query (tag and prefix) that
// made it.

const (
	tagList = 'l' + iota
	tagEvents
	tagNotes
	tagConversations
)

func encodeCursor(tag byte, key []byte) string {
	b := make([]byte, 0, len(key)+1)
	b = append(b, tag)
	b = append(b, key...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the key in cursor, which must have been made with tag
// by a scan under pfx. An empty cursor returns nil.
func decodeCursor(cursor string, tag byte, pfx []byte) ([]byte, error) {
	if cursor == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) < 2 || b[0] != tag || !bytes.HasPrefix(b[1:], pfx) || len(b)-1 == len(pfx) {
		return nil, badCursor()
	}
	return b[1:], nil
}

func badCursor() error {
	return routing.Invalid("cursor", "the page cursor is not valid for this query")
}

// prefixEnd returns the smallest key greater than every key with prefix p,
// or nil when there is none (p is all 0xff).
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
