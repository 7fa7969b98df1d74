package cost_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
)

// billedDynamo wraps the DynamoDB client the Lambda functions use and
// computes the write request units AWS bills for every write, from the
// items themselves (DynamoDB Local's consumed capacity does not follow
// AWS's rules for transactions and reports no index writes):
//
//   - PutItem / UpdateItem: 1 WRU per started KB of the larger of the item
//     before and after; DeleteItem: of the item deleted;
//   - TransactWriteItems: 2 WRU per started KB per item (Put, Update,
//     Delete, ConditionCheck), the same sizes;
//   - every global secondary index the write touches, read from the table's
//     own index definitions: an entry added or removed is 1 write, a moved
//     key 2 (delete + put), an entry whose key stays but whose projected
//     attributes change 1, each per started KB of the entry (index writes
//     are ordinary writes, also in a transaction).
//
// It reads the items before and after each write with its own strongly
// consistent GetItem calls, which are not counted. Item size is DynamoDB's:
// the UTF-8 bytes of every attribute name and value (numbers: about one
// byte per two digits plus one; maps and lists: 3 bytes plus their
// elements, one more byte each; booleans and nulls: 1).
type billedDynamo struct {
	inner   *dynamodb.Client
	table   string
	keys    []string // the table's key attributes
	indexes []index

	mu       sync.Mutex
	requests int64
	wru      float64            // as AWS bills it: items
	indexWRU float64            // as AWS bills it: index entries
	items    int                // items written
	byKind   map[string]float64 // items and index entries, by the kind of item written (itemKind)
}

type index struct {
	name      string
	keys      []string // the index's key attributes
	keysOnly  bool
	projected []string // INCLUDE's non-key attributes (nil with ALL: every attribute)
}

var _ dynamo.API = (*billedDynamo)(nil)

func newBilledDynamo(ctx context.Context, c *dynamodb.Client, table string) (*billedDynamo, error) {
	out, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return nil, err
	}
	b := &billedDynamo{inner: c, table: table}
	for _, k := range out.Table.KeySchema {
		b.keys = append(b.keys, aws.ToString(k.AttributeName))
	}
	for _, g := range out.Table.GlobalSecondaryIndexes {
		ix := index{name: aws.ToString(g.IndexName)}
		for _, k := range g.KeySchema {
			ix.keys = append(ix.keys, aws.ToString(k.AttributeName))
		}
		if g.Projection != nil {
			ix.keysOnly = g.Projection.ProjectionType == types.ProjectionTypeKeysOnly
			if g.Projection.ProjectionType == types.ProjectionTypeInclude {
				ix.projected = append([]string{}, g.Projection.NonKeyAttributes...)
			}
		}
		b.indexes = append(b.indexes, ix)
	}
	return b, nil
}

// billed is what the wrapper has counted so far.
type billed struct {
	Requests       int64
	WRU, IndexWRU  float64
	ItemsWritten   int
	IndexesOfTable int
}

func (b *billedDynamo) totals() billed {
	b.mu.Lock()
	defer b.mu.Unlock()
	return billed{Requests: b.requests, WRU: b.wru, IndexWRU: b.indexWRU, ItemsWritten: b.items, IndexesOfTable: len(b.indexes)}
}

func (b *billedDynamo) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests, b.wru, b.indexWRU, b.items = 0, 0, 0, 0
	b.byKind = nil
}

// kinds returns the write units billed since reset, by kind of item.
func (b *billedDynamo) kinds() map[string]float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]float64{}
	for k, v := range b.byKind {
		out[k] = v
	}
	return out
}

// itemKind names the kind of an item from its keys, the way docs/dynamodb.md
// lists them: the partition key's prefix, and the sort key's when it differs
// (CONV/CONV is the conversation, CONV/EV a timeline entry, AGENT/LOAD an
// agent's open count).
func itemKind(it item) string {
	prefix := func(v types.AttributeValue) string {
		s, _ := v.(*types.AttributeValueMemberS)
		if s == nil {
			return "?"
		}
		p, _, _ := strings.Cut(s.Value, "#")
		return p
	}
	pk, sk := prefix(it["pk"]), prefix(it["sk"])
	if sk == pk || strings.Trim(sk, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" || sk == "" {
		return pk // the sort key names no kind (an outbox item's is a time)
	}
	return pk + "/" + sk
}

func (b *billedDynamo) count(op string, key item) {
	if debugWrites {
		fmt.Printf("REQUEST %s %s %s\n", op, render(key["pk"]), render(key["sk"]))
	}
	b.mu.Lock()
	b.requests++
	b.mu.Unlock()
}

type item = map[string]types.AttributeValue

// image reads an item as it is now (nil when absent), not counted.
func (b *billedDynamo) image(ctx context.Context, table *string, key item) item {
	out, err := b.inner.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return nil
	}
	return out.Item
}

func (b *billedDynamo) keyOf(it item) item {
	k := item{}
	for _, a := range b.keys {
		if v, ok := it[a]; ok {
			k[a] = v
		}
	}
	return k
}

// write adds the cost of one item written from before to after (nil: absent).
func (b *billedDynamo) write(before, after item, perKB float64) {
	size := max(itemSize(before), itemSize(after))
	base := perKB * math.Ceil(float64(size)/1024)
	if size == 0 {
		base = perKB // a write of a missing item (a failed condition) still costs a unit
	}
	var idx float64
	for _, ix := range b.indexes {
		was, now := b.entry(ix, before), b.entry(ix, after)
		switch {
		case was == nil && now == nil:
		case was == nil || now == nil:
			idx += kbUnits(max(itemSize(was), itemSize(now)))
		case attrString(was, ix.keys) != attrString(now, ix.keys):
			idx += kbUnits(itemSize(was)) + kbUnits(itemSize(now))
		case attrString(was, nil) != attrString(now, nil):
			idx += kbUnits(itemSize(now))
		}
	}
	it := after
	if it == nil {
		it = before
	}
	b.mu.Lock()
	b.wru += base
	b.indexWRU += idx
	b.items++
	if b.byKind == nil {
		b.byKind = map[string]float64{}
	}
	b.byKind[itemKind(it)] += base + idx
	if debugWrites {
		fmt.Printf("WRITE %-40s %-30s size %4d base %g idx %g\n", render(it["pk"]), render(it["sk"]), size, base, idx)
	}
	b.mu.Unlock()
}

// debugWrites (COST_DEBUG=1) prints every request (operation and key: the
// first key of a BatchGetItem, the partition of a Query) and every item
// written with its size and billed units.
var debugWrites = os.Getenv("COST_DEBUG") != ""

// entry is an item's entry in an index (nil when it has none): the index
// keys, the table keys and the projected attributes.
func (b *billedDynamo) entry(ix index, it item) item {
	if it == nil {
		return nil
	}
	e := item{}
	for _, k := range ix.keys {
		v, ok := it[k]
		if !ok {
			return nil // sparse: no entry
		}
		e[k] = v
	}
	for _, k := range b.keys {
		e[k] = it[k]
	}
	switch {
	case ix.keysOnly:
	case ix.projected != nil:
		for _, k := range ix.projected {
			if v, ok := it[k]; ok {
				e[k] = v
			}
		}
	default:
		for k, v := range it {
			e[k] = v
		}
	}
	return e
}

func kbUnits(size int) float64 { return math.Ceil(float64(size) / 1024) }

// attrString is a canonical rendering of the named attributes (all when nil).
func attrString(it item, names []string) string {
	if names == nil {
		for k := range it {
			names = append(names, k)
		}
	}
	sorted := append([]string{}, names...)
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j] < sorted[j-1]; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	var sb strings.Builder
	for _, k := range sorted {
		fmt.Fprintf(&sb, "%s=%s;", k, render(it[k]))
	}
	return sb.String()
}

// render writes an attribute value canonically (maps by sorted key).
func render(v types.AttributeValue) string {
	switch v := v.(type) {
	case nil:
		return "-"
	case *types.AttributeValueMemberS:
		return "S" + fmt.Sprintf("%q", v.Value)
	case *types.AttributeValueMemberN:
		return "N" + v.Value
	case *types.AttributeValueMemberB:
		return fmt.Sprintf("B%x", v.Value)
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprint("BOOL", v.Value)
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberM:
		return "M{" + attrString(v.Value, nil) + "}"
	case *types.AttributeValueMemberL:
		var parts []string
		for _, e := range v.Value {
			parts = append(parts, render(e))
		}
		return "L[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprintf("%T%v", v, v)
}

// itemSize is DynamoDB's size of an item.
func itemSize(it item) int {
	n := 0
	for name, v := range it {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		digits := strings.TrimLeft(strings.NewReplacer("-", "", ".", "").Replace(v.Value), "0")
		return (len(digits)+1)/2 + 1
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += len(k) + valueSize(e) + 1
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += valueSize(e) + 1
		}
		return n
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += len(s)/2 + 1
		}
		return n
	}
	return 0
}

func (b *billedDynamo) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	b.count("GetItem", in.Key)
	return b.inner.GetItem(ctx, in, o...)
}

func (b *billedDynamo) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	var first item
	for _, ka := range in.RequestItems {
		if len(ka.Keys) > 0 {
			first = ka.Keys[0]
		}
	}
	b.count("BatchGetItem", first)
	return b.inner.BatchGetItem(ctx, in, o...)
}

func (b *billedDynamo) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	b.count("Query "+aws.ToString(in.IndexName), item{"pk": in.ExpressionAttributeValues[":pk"]})
	return b.inner.Query(ctx, in, o...)
}

func (b *billedDynamo) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	b.count("write", nil)
	before := b.image(ctx, in.TableName, b.keyOf(in.Item))
	out, err := b.inner.PutItem(ctx, in, o...)
	after := b.image(ctx, in.TableName, b.keyOf(in.Item))
	b.write(before, after, 1)
	return out, err
}

func (b *billedDynamo) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	b.count("write", nil)
	before := b.image(ctx, in.TableName, in.Key)
	out, err := b.inner.UpdateItem(ctx, in, o...)
	b.write(before, b.image(ctx, in.TableName, in.Key), 1)
	return out, err
}

func (b *billedDynamo) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	b.count("write", nil)
	before := b.image(ctx, in.TableName, in.Key)
	out, err := b.inner.DeleteItem(ctx, in, o...)
	b.write(before, b.image(ctx, in.TableName, in.Key), 1)
	return out, err
}

func (b *billedDynamo) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	b.count("write", nil)
	type target struct {
		table *string
		key   item
	}
	var targets []target
	for _, ti := range in.TransactItems {
		switch {
		case ti.Put != nil:
			targets = append(targets, target{ti.Put.TableName, b.keyOf(ti.Put.Item)})
		case ti.Update != nil:
			targets = append(targets, target{ti.Update.TableName, ti.Update.Key})
		case ti.Delete != nil:
			targets = append(targets, target{ti.Delete.TableName, ti.Delete.Key})
		case ti.ConditionCheck != nil:
			targets = append(targets, target{ti.ConditionCheck.TableName, ti.ConditionCheck.Key})
		}
	}
	before := make([]item, len(targets))
	for i, t := range targets {
		before[i] = b.image(ctx, t.table, t.key)
	}
	out, err := b.inner.TransactWriteItems(ctx, in, o...)
	for i, t := range targets {
		b.write(before[i], b.image(ctx, t.table, t.key), 2)
	}
	return out, err
}
