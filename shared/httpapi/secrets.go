package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// checkSecretRef refuses a channel whose secret reference is not a reference
// (a plain secret) or does not resolve to usable credentials: its webhooks
// could never be verified.
func (a *API) checkSecretRef(ctx context.Context, ref string) error {
	if a.cfg.Secrets == nil {
		return nil
	}
	if ref == "" {
		return routing.Invalid("secretRef", "secretRef is required: store the secret with PUT /v1/channels/{id}/secret, then reference it")
	}
	_, err := providers.ResolveCredentials(ctx, a.cfg.Secrets, ref)
	switch code := routing.ErrorCode(err); {
	case err == nil:
		return nil
	case code == routing.CodeInvalid:
		return routing.Invalid("secretRef", "secretRef must be a reference that resolves (env:NAME, file:KEY or aws:NAME), never the secret itself; store a secret with PUT /v1/channels/{id}/secret")
	case code == routing.CodeNotFound:
		return routing.Invalid("secretRef", "the secret reference cannot be resolved: store the secret first (PUT /v1/channels/{id}/secret)")
	}
	return err // unavailable: retry
}

// putChannelSecret stores a channel's secret (write-only: it is never shown)
// under the channel's reference, or the writer's reference for the channel id
// when the channel does not exist yet.
func (a *API) putChannelSecret(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if a.cfg.SecretWriter == nil {
		return routing.Errorf(routing.CodeNotFound, "this server has no writable secret store")
	}
	var body struct {
		Secret json.RawMessage `json:"secret"`
	}
	if err := Decode(w, r, &body); err != nil {
		return err
	}
	if err := validSecret(body.Secret); err != nil {
		return err
	}
	id := r.PathValue("id")
	ref := a.cfg.SecretWriter.RefFor(id)
	switch ch, err := a.eng.GetChannel(r.Context(), actor(p), id); {
	case err == nil && ch.SecretRef != "" && a.cfg.SecretWriter.Owns(ch.SecretRef):
		ref = ch.SecretRef
	case err == nil && shownRef(ch.SecretRef) != "":
		return &routing.Error{Code: routing.CodeConflict, Field: "secretRef", Message: "channel " + id + " reads its secret from " + ch.SecretRef + ", which this server cannot write"}
	case err != nil && !routing.IsNotFound(err):
		return err
	}
	if err := a.cfg.SecretWriter.Put(r.Context(), ref, body.Secret); err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]string{"channelId": id, "secretRef": ref})
	return nil
}

// validSecret accepts a non-empty string or a credentials object with at
// least one credential.
func validSecret(raw json.RawMessage) error {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "" {
			return routing.Invalid("secret", "secret is required")
		}
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || len(obj) == 0 {
		return routing.Invalid("secret", "secret must be a string or an object of appSecret, accessToken, verifyToken, authToken")
	}
	for k, v := range obj {
		switch k {
		case "appSecret", "accessToken", "verifyToken", "authToken":
		default:
			return routing.Invalid("secret."+k, "unknown credential %q", k)
		}
		if err := json.Unmarshal(v, &s); err != nil {
			return routing.Invalid("secret."+k, "secret.%s must be a string", k)
		}
	}
	c, err := providers.ParseCredentials(string(raw))
	if err != nil || (c.AppSecret == "" && c.AccessToken == "" && c.VerifyToken == "") {
		return routing.Invalid("secret", "secret holds no credential")
	}
	return nil
}
