// Package ids makes identifiers. They are injected (like the clock) so tests
// can make them predictable.
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Generator makes unique ids with a readable prefix ("conv", "evt", ...).
type Generator interface {
	New(prefix string) string
}

var b32 = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// Random makes ids that sort by creation time: prefix_ + 48-bit milliseconds +
// 80 random bits, in Crockford base32 (lowercase). Within one millisecond the
// ids of a process still sort in creation order: the random part of the next
// id is the previous one plus one (like monotonic ULIDs), so timeline events
// written at the same instant keep their order.
type Random struct{}

var mono struct {
	sync.Mutex
	ms   uint64
	last [10]byte
}

// New returns a new id.
func (Random) New(prefix string) string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	mono.Lock()
	if ms <= mono.ms {
		ms = mono.ms
		for i := len(mono.last) - 1; i >= 0; i-- { // increment, carrying
			mono.last[i]++
			if mono.last[i] != 0 {
				break
			}
		}
	} else if _, err := rand.Read(mono.last[:]); err != nil {
		mono.Unlock()
		panic(fmt.Sprintf("ids: no randomness: %v", err))
	}
	mono.ms = ms
	copy(b[6:], mono.last[:])
	mono.Unlock()
	binary.BigEndian.PutUint64(b[:8], ms<<16|uint64(b[6])<<8|uint64(b[7]))
	return prefix + "_" + strings.ToLower(b32.EncodeToString(b[:]))
}

// Sequence makes predictable ids: prefix_000001, prefix_000002, ... (one counter
// for all prefixes). Safe for concurrent use.
type Sequence struct{ n atomic.Int64 }

// New returns the next id.
func (s *Sequence) New(prefix string) string {
	return fmt.Sprintf("%s_%06d", prefix, s.n.Add(1))
}
