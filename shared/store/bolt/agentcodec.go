package bolt

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Agents are stored in a compact binary form rather than JSON: the engine
// reads every agent of a team for each assignment, and decoding this form is
// several times faster. TestAgentCodecCoversEveryField fails when
// routing.Agent gains a field this codec does not know.

const agentFormat = 1

func encodeAgent(a routing.Agent) []byte {
	b := make([]byte, 0, 128+len(a.Name)+len(a.Email)+16*len(a.Teams))
	b = append(b, agentFormat)
	for _, s := range []string{a.ID, a.Name, a.Email, string(a.Role), string(a.Status)} {
		b = appendString(b, s)
	}
	for _, t := range []time.Time{a.StatusSince, a.SessionExpiresAt, a.LastAssignedAt, a.CreatedAt} {
		b = appendTime(b, t)
	}
	b = binary.AppendVarint(b, int64(a.MaxConcurrent))
	b = binary.AppendVarint(b, int64(a.OpenCount))
	b = binary.AppendVarint(b, a.Version)
	if a.SessionWarned {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	// Teams: 0 for nil, else 1 + the count, so nil and empty stay apart.
	if a.Teams == nil {
		b = append(b, 0)
	} else {
		b = binary.AppendUvarint(b, uint64(len(a.Teams))+1)
	}
	for _, t := range a.Teams {
		b = appendString(b, t)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errCorrupt = errors.New("corrupt agent record")

// agentReader decodes a record. Strings are substrings of one copy of the
// record (s), so decoding an agent allocates that copy and the Teams slice
// only.
type agentReader struct {
	b   []byte // the record
	s   string // the same bytes, copied once
	pos int
	err error
}

func (r *agentReader) string() string {
	n, k := binary.Uvarint(r.b[r.pos:])
	if k <= 0 || uint64(len(r.b)-r.pos-k) < n {
		r.fail()
		return ""
	}
	start := r.pos + k
	r.pos = start + int(n)
	return r.s[start:r.pos]
}

// enum returns known values as constants (no reference to the record).
func (r *agentReader) enum(known ...string) string {
	v := r.string()
	for _, k := range known {
		if v == k {
			return k
		}
	}
	return v
}

func (r *agentReader) time() time.Time {
	if len(r.b)-r.pos < timeLen {
		r.fail()
		return time.Time{}
	}
	t := decodeTime(r.b[r.pos:])
	r.pos += timeLen
	return t
}

func (r *agentReader) varint() int64 {
	v, k := binary.Varint(r.b[r.pos:])
	if k <= 0 {
		r.fail()
		return 0
	}
	r.pos += k
	return v
}

func (r *agentReader) uvarint() uint64 {
	v, k := binary.Uvarint(r.b[r.pos:])
	if k <= 0 {
		r.fail()
		return 0
	}
	r.pos += k
	return v
}

func (r *agentReader) byte() byte {
	if r.pos >= len(r.b) {
		r.fail()
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *agentReader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.pos = len(r.b)
}

func decodeAgent(b []byte) (routing.Agent, error) {
	if len(b) == 0 || b[0] != agentFormat {
		return routing.Agent{}, errCorrupt
	}
	r := agentReader{b: b, s: string(b), pos: 1}
	var a routing.Agent
	a.ID = r.string()
	a.Name = r.string()
	a.Email = r.string()
	a.Role = routing.Role(r.enum(string(routing.RoleAgent), string(routing.RoleSupervisor), string(routing.RoleAdmin)))
	a.Status = routing.AgentStatus(r.enum(string(routing.StatusOnline), string(routing.StatusPaused), string(routing.StatusOffline)))
	a.StatusSince = r.time()
	a.SessionExpiresAt = r.time()
	a.LastAssignedAt = r.time()
	a.CreatedAt = r.time()
	a.MaxConcurrent = int(r.varint())
	a.OpenCount = int(r.varint())
	a.Version = r.varint()
	a.SessionWarned = r.byte() == 1
	n := r.uvarint()
	if n > uint64(len(r.b)-r.pos)+1 { // each team takes at least one byte
		r.fail()
	}
	if r.err == nil && n > 0 {
		a.Teams = make([]string, n-1)
		for i := range a.Teams {
			a.Teams[i] = r.string()
		}
	}
	if r.err != nil {
		return routing.Agent{}, r.err
	}
	if r.pos != len(r.b) {
		return routing.Agent{}, errCorrupt
	}
	return a, nil
}
