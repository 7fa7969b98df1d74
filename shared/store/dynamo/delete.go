package dynamo

import (
	"fmt"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// deletes adds tx.Deletes: the record's item, conditioned on its version,
// and for an agent its load item (conditioned on no open conversations),
// for a team its cursor item. store.Validate checked ids, kinds and versions.
func (b *txBuilder) deletes(ds []store.Delete) error {
	for i, d := range ds {
		field := fmt.Sprintf("deletes[%d]", i)
		var k, extra key
		switch d.Kind {
		case store.DeleteAgent:
			k, extra = agentKey(d.ID), loadKey(d.ID)
		case store.DeleteTeam:
			k, extra = teamKey(d.ID), cursorKey(d.ID)
		case store.DeleteChannel:
			k = channelKey(d.ID)
		case store.DeleteWorkflow:
			k = workflowKey(d.ID)
		default:
			return routing.Invalid(field+".kind", "%q is not agent, team, channel or workflow", d.Kind)
		}
		kind, id, expect := string(d.Kind), d.ID, d.ExpectVersion
		what := fmt.Sprintf("%s %q", kind, id)
		err := b.add(writeOp{
			key: k, what: what, field: field, del: true,
			cond:   "#version = :expected",
			names:  map[string]string{"#version": attrVersion},
			values: item{":expected": nv(expect)},
			fail: func(old item) error {
				if old == nil {
					return routing.NotFound(kind, id)
				}
				v, _, _ := num(old, attrVersion)
				return routing.Conflict(routing.ReasonVersion, "%s has version %d, not %d", what, v, expect)
			},
		})
		if err != nil {
			return err
		}
		switch d.Kind {
		case store.DeleteAgent: // only with no open conversations: the load item's counter decides
			err = b.add(writeOp{
				key: extra, what: what + " (load item)", field: field, del: true,
				cond:   "attribute_not_exists(#pk) OR #openCount <= :zero",
				names:  map[string]string{"#pk": AttrPK, "#openCount": attrOpenCount},
				values: item{":zero": nv(0)},
				fail: func(old item) error {
					n, _, _ := num(old, attrOpenCount)
					return routing.Conflict(routing.ReasonInUse, "agent %q has %d open conversations", id, n)
				},
			})
		case store.DeleteTeam:
			err = b.add(writeOp{key: extra, what: what + " (cursor item)", field: field, del: true})
		}
		if err != nil {
			return err
		}
	}
	return nil
}
