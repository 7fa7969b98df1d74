package dynamo

import (
	"maps"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Stats counts the store's DynamoDB requests and, with WithConsumedCapacity,
// the capacity they consumed (table and indexes together, as DynamoDB reports
// it with ReturnConsumedCapacity TOTAL).
type Stats struct {
	Requests           int64
	ReadCapacityUnits  float64
	WriteCapacityUnits float64
	// Operations breaks the totals down by DynamoDB operation name
	// (GetItem, Query, BatchGetItem, PutItem, UpdateItem, TransactWriteItems...).
	Operations map[string]OperationStats
}

// OperationStats are the totals of one DynamoDB operation.
type OperationStats struct {
	Requests           int64
	ReadCapacityUnits  float64
	WriteCapacityUnits float64
}

// Stats returns a copy of the totals since New or the last ResetStats.
func (s *Store) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	out := s.stats
	out.Operations = maps.Clone(s.stats.Operations)
	return out
}

// ResetStats sets every total to zero.
func (s *Store) ResetStats() {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.stats = Stats{}
}

// writeOps consume write capacity; the others read capacity.
var writeOps = map[string]bool{"PutItem": true, "UpdateItem": true, "DeleteItem": true, "TransactWriteItems": true}

// record counts one request of op and the capacity it reports.
func (s *Store) record(op string, ccs ...types.ConsumedCapacity) {
	var rcu, wcu float64
	for _, cc := range ccs {
		r, w := split(op, cc)
		rcu += r
		wcu += w
	}
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.stats.Operations == nil {
		s.stats.Operations = map[string]OperationStats{}
	}
	o := s.stats.Operations[op]
	o.Requests++
	o.ReadCapacityUnits += rcu
	o.WriteCapacityUnits += wcu
	s.stats.Operations[op] = o
	s.stats.Requests++
	s.stats.ReadCapacityUnits += rcu
	s.stats.WriteCapacityUnits += wcu
}

// split returns the read and write units of cc. DynamoDB fills
// Read/WriteCapacityUnits for some calls and only CapacityUnits for others; in
// that case the operation says which kind they are.
func split(op string, cc types.ConsumedCapacity) (rcu, wcu float64) {
	if cc.ReadCapacityUnits != nil || cc.WriteCapacityUnits != nil {
		if cc.ReadCapacityUnits != nil {
			rcu = *cc.ReadCapacityUnits
		}
		if cc.WriteCapacityUnits != nil {
			wcu = *cc.WriteCapacityUnits
		}
		return rcu, wcu
	}
	if cc.CapacityUnits == nil {
		return 0, 0
	}
	if writeOps[op] {
		return 0, *cc.CapacityUnits
	}
	return *cc.CapacityUnits, 0
}

func one(cc *types.ConsumedCapacity) []types.ConsumedCapacity {
	if cc == nil {
		return nil
	}
	return []types.ConsumedCapacity{*cc}
}
