// Package dynamo is the DynamoDB backend of the store contract (store.Store):
// one table, single-table design, every Commit one TransactWriteItems (or one
// conditional PutItem/UpdateItem when the Tx touches a single item).
//
// The store never loads AWS configuration: the caller (a Lambda main, a test)
// builds the client and passes it to New. Every AWS error is translated here
// into a *routing.Error; callers never see SDK types. docs/dynamodb.md
// describes the keys, indexes and transactions.
package dynamo

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/store"
)

// API is the part of the DynamoDB client the store calls; *dynamodb.Client
// implements it.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// MaxTxItems is DynamoDB's limit of items in one TransactWriteItems.
const MaxTxItems = 100

// Store implements store.Store on one DynamoDB table. It is safe for
// concurrent use.
type Store struct {
	api          API
	table        *string
	log          *slog.Logger
	capacity     bool
	retries      int
	backoff      time.Duration
	sleep        func(ctx context.Context, d time.Duration) error
	statsMu      sync.Mutex
	stats        Stats
	batchRetries int
	now          func() time.Time
	streams      StreamsAPI
	streamIdle   time.Duration
	// outboxCommits counts this store's commits with outbox events: they
	// wake its stream feed (see StreamFeed).
	outboxCommits atomic.Int64
}

var _ store.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithConsumedCapacity asks DynamoDB for the consumed capacity of every call
// (ReturnConsumedCapacity TOTAL) and adds it to Stats.
func WithConsumedCapacity() Option { return func(s *Store) { s.capacity = true } }

// WithLogger sets the logger for errors that are reported to callers only as
// "internal" (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// WithConflictRetries sets how many times a transaction cancelled only by
// contention (TransactionConflict, throttling) is retried before Commit
// reports CodeUnavailable (default 8), and the first backoff (default 10ms,
// doubling up to 32x, with jitter).
func WithConflictRetries(n int, backoff time.Duration) Option {
	return func(s *Store) { s.retries, s.backoff = n, backoff }
}

// New returns a store on table through client. It makes no call.
func New(client API, table string, opts ...Option) *Store {
	s := &Store{
		api:          client,
		table:        aws.String(table),
		log:          slog.Default(),
		retries:      8,
		backoff:      10 * time.Millisecond,
		sleep:        clock.Sleep,
		batchRetries: 10,
		now:          time.Now,
		streamIdle:   250 * time.Millisecond,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Table is the table's name.
func (s *Store) Table() string { return *s.table }

// Close releases nothing: the client belongs to the caller.
func (s *Store) Close() error { return nil }

func (s *Store) returnCapacity() types.ReturnConsumedCapacity {
	if s.capacity {
		return types.ReturnConsumedCapacityTotal
	}
	return types.ReturnConsumedCapacityNone
}
