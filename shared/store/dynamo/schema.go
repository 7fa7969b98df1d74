package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Fixed names of the single table's keys and indexes. The CDK stack creates
// the table with exactly these; TableSchema is the reference.
const (
	AttrPK  = "pk"
	AttrSK  = "sk"
	AttrTTL = "ttl" // TTL attribute: epoch seconds

	IndexGSI1 = "gsi1"
	IndexGSI2 = "gsi2"
	IndexGSI3 = "gsi3"
	IndexGSI4 = "gsi4"
	IndexGSI5 = "gsi5"

	AttrGSI1PK = "gsi1pk"
	AttrGSI1SK = "gsi1sk"
	AttrGSI2PK = "gsi2pk"
	AttrGSI2SK = "gsi2sk"
	AttrGSI3PK = "gsi3pk"
	AttrGSI3SK = "gsi3sk"
	AttrGSI4PK = "gsi4pk"
	AttrGSI4SK = "gsi4sk"
	AttrGSI5PK = "gsi5pk"
	AttrGSI5SK = "gsi5sk"
)

// Indexes are the global secondary indexes: name, partition key and sort
// key attribute. Every one projects KEYS_ONLY: a listing reads keys from the
// index and the items themselves from the table, so no index holds a copy
// of a document and a write that changes no index key writes no index.
var Indexes = [][3]string{
	{IndexGSI1, AttrGSI1PK, AttrGSI1SK},
	{IndexGSI2, AttrGSI2PK, AttrGSI2SK},
	{IndexGSI3, AttrGSI3PK, AttrGSI3SK},
	{IndexGSI4, AttrGSI4PK, AttrGSI4SK},
	{IndexGSI5, AttrGSI5PK, AttrGSI5SK},
}

// TableSchema is the CreateTable input of the Switchboard table: partition key
// pk (S), sort key sk (S), global secondary indexes gsi1..gsi5 on
// gsiNpk/gsiNsk (S) projecting KEYS_ONLY, on-demand billing, and a stream of
// new images (the outbox feed). Time to live on the attribute ttl is a
// separate call (UpdateTimeToLive; see CreateTable).
func TableSchema(name string) *dynamodb.CreateTableInput {
	str := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	keys := func(pk, sk string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange},
		}
	}
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{str(AttrPK), str(AttrSK)},
		KeySchema:            keys(AttrPK, AttrSK),
		StreamSpecification: &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewTypeNewImage,
		},
	}
	for _, g := range Indexes {
		in.AttributeDefinitions = append(in.AttributeDefinitions, str(g[1]), str(g[2]))
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(g[0]),
			KeySchema:  keys(g[1], g[2]),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		})
	}
	return in
}

// TableAdmin is the part of the DynamoDB client CreateTable needs.
type TableAdmin interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// CreateTable creates the table with TableSchema, waits until it is ACTIVE
// and enables TTL on AttrTTL. It is for tests and local tooling; on AWS the
// CDK stack owns the table.
func CreateTable(ctx context.Context, client TableAdmin, name string) error {
	if _, err := client.CreateTable(ctx, TableSchema(name)); err != nil {
		return fmt.Errorf("dynamo: create table %s: %w", name, err)
	}
	return ready(ctx, client, name)
}

// EnsureTable is CreateTable for a table that may exist already (created
// by another process a moment ago, say): it waits until the table is ACTIVE
// and enables TTL either way. It does not check an existing table's schema.
func EnsureTable(ctx context.Context, client TableAdmin, name string) error {
	_, err := client.CreateTable(ctx, TableSchema(name))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("dynamo: create table %s: %w", name, err)
	}
	return ready(ctx, client, name)
}

// ready waits until the table and its indexes are ACTIVE, then enables TTL.
func ready(ctx context.Context, client TableAdmin, name string) error {
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("dynamo: describe table %s: %w", name, err)
		}
		if active(out.Table) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(AttrTTL),
			Enabled:       aws.Bool(true),
		},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) && !strings.Contains(strings.ToLower(err.Error()), "already enabled") {
		return fmt.Errorf("dynamo: enable TTL on %s: %w", name, err)
	}
	return nil
}

func active(t *types.TableDescription) bool {
	if t == nil || t.TableStatus != types.TableStatusActive {
		return false
	}
	for _, g := range t.GlobalSecondaryIndexes {
		if g.IndexStatus != types.IndexStatusActive {
			return false
		}
	}
	return true
}
