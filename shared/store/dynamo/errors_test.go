package dynamo_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
)

// fakeAPI answers TransactWriteItems and GetItem from scripted results; these
// tests need no DynamoDB Local. Unscripted calls panic through the nil
// embedded interface.
type fakeAPI struct {
	dynamo.API
	tx     []error // result of each TransactWriteItems call; nil = success
	tokens []string
	calls  int
	getErr error
	puts   []error // result of each PutItem call; nil = success
	nput   int
}

func (f *fakeAPI) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.nput++
	if len(f.puts) == 0 {
		return &dynamodb.PutItemOutput{}, nil
	}
	err := f.puts[0]
	f.puts = f.puts[1:]
	if err != nil {
		return nil, err
	}
	return &dynamodb.PutItemOutput{}, nil
}

func (f *fakeAPI) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.calls++
	f.tokens = append(f.tokens, aws.ToString(in.ClientRequestToken))
	if len(f.tx) == 0 {
		return &dynamodb.TransactWriteItemsOutput{}, nil
	}
	err := f.tx[0]
	f.tx = f.tx[1:]
	if err != nil {
		return nil, err
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

func (f *fakeAPI) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return nil, f.getErr
}

func cancelled(codes ...string) error {
	rs := make([]types.CancellationReason, len(codes))
	for i, c := range codes {
		rs[i] = types.CancellationReason{Code: aws.String(c)}
	}
	return &types.TransactionCanceledException{Message: aws.String("Transaction cancelled"), CancellationReasons: rs}
}

// twoItems is a Tx of two items (a new conversation without a team, and a
// claim), so Commit uses TransactWriteItems.
func twoItems() store.Tx {
	return store.Tx{
		Conversations: []store.ConversationWrite{{Value: routing.Conversation{ID: "cv_1", Status: routing.ConvPending, OpenedAt: t0}}},
		Claims:        []store.Claim{{Key: "k", At: t0, ExpiresAt: t0.Add(time.Hour)}},
	}
}

func TestCommitRetriesTransactionConflict(t *testing.T) {
	f := &fakeAPI{tx: []error{
		cancelled("TransactionConflict", "None"),
		cancelled("None", "ThrottlingError"),
		&types.TransactionConflictException{Message: aws.String("conflict")},
		nil,
	}}
	s := dynamo.New(f, "tbl", dynamo.WithConflictRetries(5, 0))
	if err := s.Commit(t.Context(), twoItems()); err != nil {
		t.Fatalf("Commit after three contended attempts: %v", err)
	}
	if f.calls != 4 {
		t.Fatalf("%d TransactWriteItems calls, want 4", f.calls)
	}
	seen := map[string]bool{}
	for _, tok := range f.tokens {
		if tok == "" || seen[tok] {
			t.Fatalf("client request tokens %q: each attempt needs its own", f.tokens)
		}
		seen[tok] = true
	}
}

func TestCommitConflictRetriesExhausted(t *testing.T) {
	f := &fakeAPI{}
	for range 10 {
		f.tx = append(f.tx, cancelled("TransactionConflict", "None"))
	}
	s := dynamo.New(f, "tbl", dynamo.WithConflictRetries(3, 0))
	err := s.Commit(t.Context(), twoItems())
	if routing.ErrorCode(err) != routing.CodeUnavailable {
		t.Fatalf("want unavailable after retries, got %v", err)
	}
	if f.calls != 4 {
		t.Fatalf("%d calls, want 1 + 3 retries", f.calls)
	}
}

func TestCommitConditionBeatsContention(t *testing.T) {
	// A failed condition is final even when another item was contended.
	f := &fakeAPI{tx: []error{cancelled("TransactionConflict", "ConditionalCheckFailed")}}
	s := dynamo.New(f, "tbl", dynamo.WithConflictRetries(3, 0))
	err := s.Commit(t.Context(), twoItems())
	if !routing.IsConflict(err, routing.ReasonDuplicate) {
		t.Fatalf("want the claim's duplicate conflict, got %v", err)
	}
	if f.calls != 1 {
		t.Fatalf("%d calls; a failed condition must not be retried", f.calls)
	}
}

func TestCommitCancelledForOtherReasonIsInternal(t *testing.T) {
	f := &fakeAPI{tx: []error{cancelled("None", "ValidationError")}}
	s := dynamo.New(f, "tbl", dynamo.WithConflictRetries(3, 0))
	err := s.Commit(t.Context(), twoItems())
	if routing.ErrorCode(err) != routing.CodeInternal || f.calls != 1 {
		t.Fatalf("want one call and internal, got %d calls and %v", f.calls, err)
	}
}

func TestSingleItemWriteRetriesTransactionConflict(t *testing.T) {
	conflict := &types.TransactionConflictException{Message: aws.String("in a transaction")}
	claim := store.Tx{Claims: []store.Claim{{Key: "k", At: t0, ExpiresAt: t0.Add(time.Hour)}}}

	f := &fakeAPI{puts: []error{conflict, conflict, nil}}
	s := dynamo.New(f, "tbl", dynamo.WithConflictRetries(5, 0))
	if err := s.Commit(t.Context(), claim); err != nil || f.nput != 3 {
		t.Fatalf("after two conflicts: err %v, %d PutItem calls; want nil and 3", err, f.nput)
	}

	f = &fakeAPI{puts: []error{conflict, conflict, conflict, conflict}}
	s = dynamo.New(f, "tbl", dynamo.WithConflictRetries(2, 0))
	if err := s.Commit(t.Context(), claim); routing.ErrorCode(err) != routing.CodeUnavailable || f.nput != 3 {
		t.Fatalf("conflicts beyond the retries: err %v, %d calls; want unavailable and 3", err, f.nput)
	}

	held := &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed"), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "CLAIM#k"}, "sk": &types.AttributeValueMemberS{Value: "CLAIM"},
	}}
	f = &fakeAPI{puts: []error{held}}
	s = dynamo.New(f, "tbl", dynamo.WithConflictRetries(5, 0))
	if err := s.Commit(t.Context(), claim); !routing.IsConflict(err, routing.ReasonDuplicate) || f.nput != 1 {
		t.Fatalf("held claim: err %v after %d calls; want duplicate after 1", err, f.nput)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "dial tcp 10.0.0.1:443: i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

// Every SDK error becomes a *routing.Error whose message reveals nothing of AWS.
func TestErrorsAreTranslated(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want routing.Code
	}{
		{"Throughput", &types.ProvisionedThroughputExceededException{Message: aws.String("Throughput exceeds the current capacity of your table arn:aws:dynamodb:...")}, routing.CodeUnavailable},
		{"RequestLimit", &types.RequestLimitExceeded{Message: aws.String("account limit")}, routing.CodeUnavailable},
		{"Throttling", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate of requests exceeds the allowed throughput"}, routing.CodeUnavailable},
		{"InternalServerError", &types.InternalServerError{Message: aws.String("internal")}, routing.CodeUnavailable},
		{"ItemTooLarge", &smithy.GenericAPIError{Code: "ValidationException", Message: "Item size has exceeded the maximum allowed size"}, routing.CodeInvalid},
		{"OtherValidation", &smithy.GenericAPIError{Code: "ValidationException", Message: "One or more parameter values were invalid: arn:aws:dynamodb:us-east-1:123456789012:table/secret"}, routing.CodeInternal},
		{"MissingTable", &types.ResourceNotFoundException{Message: aws.String("Requested resource not found: Table: arn:aws:dynamodb:us-east-1:123456789012:table/secret")}, routing.CodeInternal},
		{"Network", &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}, routing.CodeUnavailable},
		{"Cancelled", context.Canceled, routing.CodeUnavailable},
		{"Deadline", context.DeadlineExceeded, routing.CodeUnavailable},
		{"Unknown", errors.New("operation error DynamoDB: GetItem, arn:aws:dynamodb:us-east-1:123456789012:table/secret"), routing.CodeInternal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := dynamo.New(&fakeAPI{getErr: tc.err}, "secret")
			_, err := s.GetConversation(t.Context(), "cv_1")
			var re *routing.Error
			if !errors.As(err, &re) {
				t.Fatalf("error %T %v is not a *routing.Error", err, err)
			}
			if re.Code != tc.want {
				t.Fatalf("code %s, want %s (%v)", re.Code, tc.want, err)
			}
			for _, leak := range []string{"arn:", "secret", "DynamoDB", "10.0.0.1", "Throughput exceeds"} {
				if strings.Contains(re.Message, leak) {
					t.Fatalf("message %q leaks %q", re.Message, leak)
				}
			}
		})
	}
}

func TestBadCursorIsInvalidWithoutCalls(t *testing.T) {
	s := dynamo.New(&fakeAPI{}, "tbl") // any DynamoDB call would panic
	for _, c := range []string{"not a cursor!", "Yzox", "eHl6"} {
		_, err := s.ListConversations(t.Context(), store.ConversationFilter{PageRequest: store.PageRequest{Cursor: c}})
		if routing.ErrorCode(err) != routing.CodeInvalid {
			t.Fatalf("cursor %q: want invalid_argument, got %v", c, err)
		}
	}
}
