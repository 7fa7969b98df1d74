package dynamo

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// retryableCodes are AWS error codes (and transaction cancellation reason
// codes) that mean "try again later": contention or throttling, nothing written.
var retryableCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ProvisionedThroughputExceeded":          true, // cancellation reason code
	"RequestLimitExceeded":                   true,
	"ThrottlingException":                    true,
	"Throttling":                             true,
	"ThrottlingError":                        true, // cancellation reason code
	"TransactionConflictException":           true,
	"TransactionConflict":                    true, // cancellation reason code
	"TransactionInProgressException":         true,
	"ReplicatedWriteConflictException":       true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
}

// translate turns an error of the DynamoDB client into a *routing.Error.
// what names the call for the log ("get conversation").
func (s *Store) translate(ctx context.Context, err error, what string) error {
	if err == nil {
		return nil
	}
	var re *routing.Error
	if errors.As(err, &re) {
		return re
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return routing.Errorf(routing.CodeUnavailable, "storage request cancelled or timed out")
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		switch {
		case retryableCodes[code]:
			return routing.Errorf(routing.CodeUnavailable, "storage is busy, try again")
		case code == "ValidationException" && tooLarge(api.ErrorMessage()):
			return routing.Invalid("tx", "the data is larger than the storage allows (400 KB per item, 4 MB per transaction)")
		case code == "ItemCollectionSizeLimitExceededException":
			return routing.Invalid("tx", "the data is larger than the storage allows")
		}
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		s.log.WarnContext(ctx, "dynamo: network error", "call", what, "table", *s.table, "error", err)
		return routing.Errorf(routing.CodeUnavailable, "storage is unreachable, try again")
	}
	s.log.ErrorContext(ctx, "dynamo: unexpected error", "call", what, "table", *s.table, "error", err)
	return routing.Errorf(routing.CodeInternal, "storage failure")
}

func tooLarge(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "size") && (strings.Contains(m, "exceed") || strings.Contains(m, "too large"))
}
