// Package bolttest opens embedded stores for tests of other packages.
package bolttest

import (
	"path/filepath"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/store/bolt"
)

// Open opens a store in a file of t's temporary directory. When t ends it
// checks the file's consistency (an error fails t) and closes the store.
func Open(t testing.TB, opts ...bolt.Option) *bolt.Store {
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
