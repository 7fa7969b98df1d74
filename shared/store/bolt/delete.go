package bolt

import (
	bbolt "go.etcd.io/bbolt"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// deletes checks each Delete's version and removes the item (and, for an
// agent its load, which must be zero; for a team its cursor).
func (p *prepared) deletes(btx *bbolt.Tx, ds []store.Delete) error {
	for _, d := range ds {
		kind, id := string(d.Kind), d.ID
		var (
			stored int64
			found  bool
			bucket []byte
		)
		switch d.Kind {
		case store.DeleteAgent:
			a, ok, err := p.cache.agent(btx, id)
			if err != nil {
				return err
			}
			stored, found, bucket = a.Version, ok, bAgents
			if ok && a.Version == d.ExpectVersion && a.OpenCount > 0 {
				return routing.Conflict(routing.ReasonInUse, "agent %q has %d open conversations", id, a.OpenCount)
			}
		case store.DeleteTeam:
			t, ok, err := p.cache.team(btx, id)
			if err != nil {
				return err
			}
			stored, found, bucket = t.Version, ok, bTeams
		case store.DeleteChannel, store.DeleteWorkflow:
			bucket = bChannels
			version := versionOfChannel
			if d.Kind == store.DeleteWorkflow {
				bucket, version = bWorkflows, versionOfWorkflow
			}
			if raw := btx.Bucket(bucket).Get([]byte(id)); raw != nil {
				v, err := version(raw)
				if err != nil {
					return internal("decode "+string(bucket), err)
				}
				stored, found = v, true
			}
		default:
			return routing.Invalid("deletes.kind", "deletes.kind: %q", d.Kind)
		}
		if err := checkVersion(kind, id, found, stored, d.ExpectVersion); err != nil {
			return err
		}
		p.ops = append(p.ops, op{bucket: bucket, key: []byte(id), del: true})
		if d.Kind == store.DeleteTeam {
			p.ops = append(p.ops, op{bucket: bCursors, key: []byte(id), del: true})
		}
	}
	return nil
}
