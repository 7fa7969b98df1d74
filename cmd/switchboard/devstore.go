package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
)

// storeFlags are the dev command's choice of store: the embedded bbolt file
// in the data folder, or a DynamoDB table (shared by several local servers
// exactly as the Lambda functions share it on AWS).
type storeFlags struct {
	kind     string
	endpoint string
	table    string
	create   bool
}

func addStoreFlags(fs *flag.FlagSet) *storeFlags {
	f := &storeFlags{}
	fs.StringVar(&f.kind, "store", envOr("SWITCHBOARD_STORE", "bolt"), "bolt (a file in the data folder) or dynamodb (a DynamoDB table: --table)")
	fs.StringVar(&f.endpoint, "dynamodb-endpoint", os.Getenv("SWITCHBOARD_DYNAMODB_ENDPOINT"), "DynamoDB endpoint URL, e.g. http://127.0.0.1:8000 for DynamoDB Local (default: AWS's for the region)")
	fs.StringVar(&f.table, "table", os.Getenv("SWITCHBOARD_TABLE"), "DynamoDB table name (with --store dynamodb)")
	fs.BoolVar(&f.create, "create-table", false, "create the DynamoDB table if it does not exist (with its indexes, stream and TTL)")
	return f
}

// open returns the store and its outbox feed, or nil, nil for the bbolt
// store in the data folder; where describes it for the start-up line.
func (f *storeFlags) open(ctx context.Context, log *slog.Logger) (st store.Store, feed store.OutboxFeed, where string, err error) {
	switch f.kind {
	case "", "bolt":
		if f.table != "" || f.endpoint != "" || f.create {
			return nil, nil, "", errors.New("--table, --dynamodb-endpoint and --create-table go with --store dynamodb")
		}
		return nil, nil, "", nil
	case "dynamodb":
	default:
		return nil, nil, "", fmt.Errorf("--store %q: want bolt or dynamodb", f.kind)
	}
	if f.table == "" {
		return nil, nil, "", errors.New("--store dynamodb needs --table")
	}
	cfg, err := f.awsConfig(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if f.endpoint != "" {
			o.BaseEndpoint = aws.String(f.endpoint)
		}
	})
	streams := dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) {
		if f.endpoint != "" {
			o.BaseEndpoint = aws.String(f.endpoint)
		}
	})
	if f.create {
		if err := dynamo.EnsureTable(ctx, db, f.table); err != nil {
			return nil, nil, "", err
		}
	}
	d := dynamo.New(db, f.table, dynamo.WithStreams(streams), dynamo.WithLogger(log))
	where = fmt.Sprintf("DynamoDB table %s in %s", f.table, cfg.Region)
	if f.endpoint != "" {
		where = fmt.Sprintf("DynamoDB table %s at %s", f.table, f.endpoint)
	}
	return d, d.Outbox(), where, nil
}

// awsConfig reads the region and credentials from the usual AWS environment
// (variables, shared files, roles). With an endpoint (DynamoDB Local) and no
// credentials or region configured, it uses dummy static credentials and
// us-east-1: DynamoDB Local accepts any.
func (f *storeFlags) awsConfig(ctx context.Context) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	local := f.endpoint != ""
	if local && os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		if !local {
			return aws.Config{}, errors.New("--store dynamodb: set AWS_REGION (or a profile with a region)")
		}
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}
