package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"
)

// InitErrorType is the errorType of configuration failures at init.
const InitErrorType = "Switchboard.InitError"

// InitFailed reports an initialisation failure to the Lambda Runtime API
// (POST /2018-06-01/runtime/init/error, so the invocation fails with this
// message instead of a bare exit), logs it and exits with status 1.
func InitFailed(err error) {
	msg := err.Error()
	fmt.Fprintf(os.Stderr, `{"level":"ERROR","msg":"init failed","err":%q}`+"\n", msg)
	if api := os.Getenv("AWS_LAMBDA_RUNTIME_API"); api != "" {
		if perr := ReportInitError(api, InitErrorType, msg); perr != nil {
			fmt.Fprintf(os.Stderr, `{"level":"ERROR","msg":"init error not reported","err":%q}`+"\n", perr.Error())
		}
	}
	os.Exit(1)
}

// ReportInitError posts an init error to the Runtime API at address (host:port).
func ReportInitError(address, errorType, message string) error {
	body, _ := json.Marshal(map[string]any{"errorMessage": message, "errorType": errorType, "stackTrace": []string{}})
	req, err := http.NewRequest(http.MethodPost, "http://"+address+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", errorType)
	res, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		return fmt.Errorf("runtime API answered %s", res.Status)
	}
	return nil
}
