package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
	"github.com/switchboard-oss/switchboard/shared/store/storetest"
)

func openTemp(t testing.TB, opts ...bolt.Option) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "switchboard.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("consistency check: %v", err)
		}
		s.Close()
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestConformanceWithoutGroupCommit(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T) store.Store { return openTemp(t, bolt.WithoutGroupCommit()) })
}
