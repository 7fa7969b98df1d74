package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// The dev command's store flags: bolt by default, dynamodb needs a table,
// and the DynamoDB flags without --store dynamodb are a mistake, not ignored.
func TestDevStoreFlags(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{nil, ""},
		{[]string{"--store", "bolt"}, ""},
		{[]string{"--table", "t"}, "go with --store dynamodb"},
		{[]string{"--create-table"}, "go with --store dynamodb"},
		{[]string{"--store", "dynamodb"}, "needs --table"},
		{[]string{"--store", "postgres"}, "want bolt or dynamodb"},
	} {
		fs := flag.NewFlagSet("dev", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f := addStoreFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		st, feed, _, err := f.open(context.Background(), quiet)
		switch {
		case tc.err == "" && (err != nil || st != nil || feed != nil):
			t.Errorf("%v: store %v feed %v err %v, want the bolt default (nil, nil)", tc.args, st, feed, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.err)
		}
	}
}

// With an endpoint (DynamoDB Local) and no AWS credentials in the
// environment, the dev command uses dummy ones and us-east-1, and makes no
// call until the server starts.
func TestDevStoreDynamoDBLocalDefaults(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	f := &storeFlags{kind: "dynamodb", endpoint: "http://127.0.0.1:1", table: "sb"}
	var logs bytes.Buffer
	st, feed, where, err := f.open(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil || st == nil || feed == nil {
		t.Fatalf("open: %v %v %v", st, feed, err)
	}
	if where != "DynamoDB table sb at http://127.0.0.1:1" {
		t.Errorf("where = %q", where)
	}
	cfg, err := f.awsConfig(context.Background())
	if err != nil || cfg.Region != "us-east-1" {
		t.Fatalf("config: region %q err %v", cfg.Region, err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "local" {
		t.Errorf("credentials %q err %v, want the dummy static ones", creds.AccessKeyID, err)
	}
	// Without an endpoint a region is required (a real table).
	f.endpoint = ""
	if _, _, _, err := f.open(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Errorf("no region, no endpoint: %v", err)
	}
}
