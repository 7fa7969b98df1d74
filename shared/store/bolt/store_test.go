package bolt_test

import (
	"testing"

	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
	"github.com/switchboard-oss/switchboard/shared/store/bolt/bolttest"
	"github.com/switchboard-oss/switchboard/shared/store/storetest"
)

// openTemp opens a store in a temporary file, checked and closed at the end.
var openTemp = bolttest.Open

func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestConformanceWithoutGroupCommit(t *testing.T) {
	storetest.RunConformanceTests(t, func(t *testing.T) store.Store { return openTemp(t, bolt.WithoutGroupCommit()) })
}
