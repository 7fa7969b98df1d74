package asl

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// LambdaRequestID returns the request id the runner puts in the Lambda
// envelope of the n-th (1-based) invocation of a state in an execution. It
// is derived from its inputs so the embedded runner and the
// aws-local-stepfunctions harness (tests/sfnlocal/harness.mjs, which
// implements the same function) produce identical envelopes: a UUID made of
// the first 16 bytes of SHA-256("<execution>/<state>/<n>") with the version 4
// and variant bits set.
func LambdaRequestID(execution, state string, n int) string {
	sum := sha256.Sum256([]byte(execution + "/" + state + "/" + strconv.Itoa(n)))
	return formatUUID(sum[:16])
}

func formatUUID(b []byte) string {
	var u [16]byte
	copy(u[:], b)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// uuidFromID turns an injected id into a UUID-shaped string for States.UUID.
func uuidFromID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return formatUUID(sum[:16])
}

// LambdaEnvelope wraps a function's output the way the Step Functions
// optimized integration arn:aws:states:::lambda:invoke returns it.
func LambdaEnvelope(payload any, requestID string) map[string]any {
	return map[string]any{
		"ExecutedVersion": "$LATEST",
		"Payload":         payload,
		"SdkHttpMetadata": map[string]any{
			"AllHttpHeaders": map[string]any{
				"Content-Type":           []any{"application/json"},
				"X-Amz-Executed-Version": []any{"$LATEST"},
				"x-amzn-RequestId":       []any{requestID},
			},
			"HttpHeaders": map[string]any{
				"Content-Type":           "application/json",
				"X-Amz-Executed-Version": "$LATEST",
				"x-amzn-RequestId":       requestID,
			},
			"HttpStatusCode": number(200),
		},
		"SdkResponseMetadata": map[string]any{"RequestId": requestID},
		"StatusCode":          number(200),
	}
}

// Local ARNs: a MachineID that is already a state machine ARN is used as is;
// any other id becomes arn:aws:states:local:000000000000:stateMachine:<id>.
const localARNPrefix = "arn:aws:states:local:000000000000:"

// MachineARN returns the state machine ARN ($$.StateMachine.Id) for a MachineID.
func MachineARN(machineID string) string {
	if strings.HasPrefix(machineID, "arn:") && strings.Contains(machineID, ":stateMachine:") {
		return machineID
	}
	return localARNPrefix + "stateMachine:" + machineID
}

// ExecutionARN returns the execution ARN ($$.Execution.Id) of an execution.
func ExecutionARN(machineID, name string) string {
	m := MachineARN(machineID)
	i := strings.Index(m, ":stateMachine:")
	return m[:i] + ":execution:" + m[i+len(":stateMachine:"):] + ":" + name
}

// machineName is the last part of a state machine ARN.
func machineName(arn string) string {
	return arn[strings.LastIndex(arn, ":")+1:]
}
