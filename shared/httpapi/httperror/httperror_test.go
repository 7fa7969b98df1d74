package httperror

import (
	"net/http/httptest"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		e    routing.Error
		want int
	}{
		{routing.Error{Code: routing.CodeInvalid}, 400},
		{routing.Error{Code: routing.CodeInvalid, Reason: ReasonTooLarge}, 413},
		{routing.Error{Code: routing.CodeInvalid, Reason: ReasonMethodNotAllowed}, 405},
		{routing.Error{Code: routing.CodeUnauthenticated}, 401},
		{routing.Error{Code: routing.CodeForbidden}, 403},
		{routing.Error{Code: routing.CodeNotFound}, 404},
		{routing.Error{Code: routing.CodeConflict, Reason: ReasonTooLarge}, 409}, // the reasons belong to invalid_argument
		{routing.Error{Code: routing.CodeRateLimited}, 429},
		{routing.Error{Code: routing.CodeUnavailable}, 503},
		{routing.Error{Code: routing.CodeInternal}, 500},
		{routing.Error{Code: "made_up"}, 500},
	} {
		if got := Status(&tc.e); got != tc.want {
			t.Errorf("%s/%s: %d, want %d", tc.e.Code, tc.e.Reason, got, tc.want)
		}
	}
	w := httptest.NewRecorder()
	Write(w, &routing.Error{Code: routing.CodeConflict, Reason: "version", Message: "a <b>", Field: "version"})
	if w.Code != 409 || w.Header().Get("Content-Type") != "application/json" ||
		w.Body.String() != `{"error":{"code":"conflict","message":"a <b>","field":"version","reason":"version"}}`+"\n" {
		t.Fatalf("%d %q", w.Code, w.Body)
	}
}
