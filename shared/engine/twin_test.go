package engine_test

import (
	"path/filepath"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/engine/enginetest"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
)

// The twin suite on the embedded store; DynamoDB runs it in shared/store/dynamo.
func TestTwinBolt(t *testing.T) {
	enginetest.RunTwinTests(t, func(t *testing.T) store.Store {
		st, err := bolt.Open(filepath.Join(t.TempDir(), "twin.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}
