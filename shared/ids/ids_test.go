package ids

import (
	"sort"
	"strings"
	"sync"
	"testing"
)

func TestRandomSortsInCreationOrder(t *testing.T) {
	var g Random
	got := make([]string, 5000)
	for i := range got {
		got[i] = g.New("evt")
	}
	if !sort.StringsAreSorted(got) {
		t.Fatal("ids made one after another do not sort in creation order")
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] || !strings.HasPrefix(id, "evt_") {
			t.Fatalf("bad or duplicate id %q", id)
		}
		seen[id] = true
	}
}

func TestRandomConcurrentUnique(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				id := Random{}.New("x")
				mu.Lock()
				if seen[id] {
					t.Errorf("duplicate %s", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func TestSequence(t *testing.T) {
	var s Sequence
	if a, b := s.New("a"), s.New("b"); a != "a_000001" || b != "b_000002" {
		t.Fatal(a, b)
	}
}
