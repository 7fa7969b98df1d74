package dynamo_test

import (
	"testing"

	"github.com/switchboard-oss/switchboard/shared/engine/enginetest"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo/dynamolocal"
)

// The engine's twin suite (stale queue reads, two hosts draining, steps
// delivered twice, faults at every commit) on DynamoDB Local, each test on a
// fresh table with its stream as the outbox feed.
func TestTwin(t *testing.T) {
	dynamolocal.Shared(t)
	enginetest.RunTwinTests(t, func(t *testing.T) store.Store { return newStore(t) })
}
