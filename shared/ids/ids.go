// Package ids makes identifiers. They are injected (like the clock) so tests
// can make them predictable.
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// Generator makes unique ids with a readable prefix ("conv", "evt", ...).
type Generator interface {
	New(prefix string) string
}

var b32 = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// Random makes ids that sort by creation time: prefix_ + 48-bit milliseconds +
// 80 random bits, in Crockford base32 (lowercase).
type Random struct{}

// New returns a new id.
func (Random) New(prefix string) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic(fmt.Sprintf("ids: no randomness: %v", err))
	}
	return prefix + "_" + strings.ToLower(b32.EncodeToString(b[:]))
}

// Sequence makes predictable ids: prefix_000001, prefix_000002, ... (one counter
// for all prefixes). Safe for concurrent use.
type Sequence struct{ n atomic.Int64 }

// New returns the next id.
func (s *Sequence) New(prefix string) string {
	return fmt.Sprintf("%s_%06d", prefix, s.n.Add(1))
}
