package store

// DeleteKind names the kind of item a Delete removes.
type DeleteKind string

const (
	DeleteAgent    DeleteKind = "agent"
	DeleteTeam     DeleteKind = "team"
	DeleteChannel  DeleteKind = "channel"
	DeleteWorkflow DeleteKind = "workflow"
)

// Valid reports whether k is a kind that can be deleted.
func (k DeleteKind) Valid() bool {
	return k == DeleteAgent || k == DeleteTeam || k == DeleteChannel || k == DeleteWorkflow
}

// Delete removes one agent, team, channel or workflow record, on the
// condition that its stored version is ExpectVersion (ReasonVersion
// otherwise; CodeNotFound if it is absent). ExpectVersion must be positive
// and Kind valid (CodeInvalid). An agent is deleted only with no open
// conversations (OpenCount 0; a conflict with routing.ReasonInUse
// otherwise), and its load goes with it; a team's round-robin cursor goes
// with the team; a workflow only its draft record
// (published versions are immutable and stay). Nothing that refers to the
// item is changed (conversations, the other side of team membership,
// events): the caller checks or changes those in the same Tx. A Delete and
// any other write of the same item in one Tx (a put, a LoadChange, a
// CursorSet) is CodeInvalid, like an item touched twice.
type Delete struct {
	Kind          DeleteKind
	ID            string
	ExpectVersion int64
}
