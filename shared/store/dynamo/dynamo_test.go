package dynamo_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo/dynamolocal"
	"github.com/switchboard-oss/switchboard/shared/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.Main(m)) }

var tableSeq atomic.Int64

// newTable creates a fresh table on the shared DynamoDB Local and deletes it
// when the test ends.
func newTable(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	client := dynamolocal.Shared(t).Client()
	name := fmt.Sprintf("switchboard_%d_%d", time.Now().UnixNano()%1e9, tableSeq.Add(1))
	if err := dynamo.CreateTable(context.Background(), client, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return client, name
}

func newStore(t testing.TB, opts ...dynamo.Option) *dynamo.Store {
	t.Helper()
	client, name := newTable(t)
	opts = append([]dynamo.Option{dynamo.WithStreams(dynamolocal.Shared(t).StreamsClient())}, opts...)
	return dynamo.New(client, name, opts...)
}

func TestConformance(t *testing.T) {
	dynamolocal.Shared(t) // skip (or fail) once here when the tools are missing
	storetest.RunConformanceTests(t, func(t *testing.T) store.Store { return newStore(t) })
}

func streamsOf(t testing.TB) *dynamodbstreams.Client {
	return dynamolocal.Shared(t).StreamsClient()
}
