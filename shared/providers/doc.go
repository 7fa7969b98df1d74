// Package providers normalises the messaging providers Switchboard talks to
// (WhatsApp Cloud API, Messenger, Telegram, Twilio SMS/WhatsApp and
// Switchboard's own signed "generic" webhook) behind two small interfaces:
//
//   - Provider verifies and parses inbound webhooks into []Inbound;
//   - Sender delivers an Outbound message through a routing.Channel.
//
// One subpackage per provider implements them (whatsapp, messenger, telegram,
// twilio, generic); package catalog builds a Registry holding all of them.
//
// # Secrets
//
// A routing.Channel never stores secrets: Channel.SecretRef names one secret,
// resolved through the Secrets interface ("env:NAME" reads an environment
// variable, "file:KEY" a key of a JSON file; see Resolver). The secret's value
// is either
//
//   - a JSON object with the channel's credentials, by role:
//     {"appSecret": "...", "accessToken": "...", "verifyToken": "..."}
//     ("authToken" is accepted as a shorthand that fills both appSecret and
//     accessToken, as Twilio uses one auth token for both); or
//   - a plain string, used for every role (handy for generic channels).
//
// The roles, per provider:
//
//	provider   appSecret (Verify)            accessToken (Send)           verifyToken (Handshake)
//	whatsapp   Meta app secret               system-user access token     webhook verify token
//	messenger  Meta app secret               page access token            webhook verify token
//	telegram   setWebhook secret_token       bot token                    -
//	twilio     account auth token            account auth token           -
//	generic    shared signing secret         signing secret for outbound  -
//
// Credentials.ForVerify, ForSend and ForHandshake pick the right one, and
// Deliver resolves a channel's credentials and sends with them.
//
// # Channel configuration (routing.Channel.Config)
//
//	baseUrl        every provider: API base URL (tests point it at httptest servers)
//	apiVersion     whatsapp, messenger: Graph API version (default DefaultGraphVersion in the subpackages)
//	accountSid     twilio: the account SID (default: ExternalID when it starts with "AC")
//	from           twilio: the sender address, e.g. "whatsapp:+14155238886" (default: ExternalID)
//	webhookUrl     twilio: the exact public URL configured in Twilio, used to check signatures
//	outboundUrl    generic: where outbound messages are POSTed
//
// # Channel.ExternalID, per provider
//
// It is what Inbound.ChannelExternalID carries, so the webhook can find the
// channel without a query parameter: WhatsApp phone_number_id, Messenger page
// id, Twilio "To" address of inbound messages as Twilio writes it (e.g.
// "+15005550006" or "whatsapp:+14155238886"), generic channelId. Telegram
// updates do not name the bot, so Telegram webhooks must carry
// ?channel=<channel id> in their URL.
//
// # Idempotency of sends
//
// Send retries on 429 (honouring Retry-After), 5xx and network errors, never
// on other 4xx, and reuses one client-side idempotency key across its retries:
// Outbound.IdempotencyKey, or a generated one. Twilio receives it as the
// I-Twilio-Idempotency-Token header and generic endpoints as Idempotency-Key.
// The WhatsApp Cloud API, the Messenger Send API and the Telegram Bot API
// accept no idempotency key: a retry after a timeout whose first attempt did
// reach the provider can deliver the message twice. Callers that must never
// duplicate should pass a stable IdempotencyKey and treat CodeUnavailable as
// "maybe delivered".
//
// # Errors
//
// Every error is a *routing.Error: CodeUnauthenticated for a bad or missing
// signature, CodeInvalid for an unparseable body or a message the provider
// rejected (4xx), CodeUnavailable when retries are exhausted (the message
// names the provider's last status). Messages never contain tokens or URLs
// that embed them.
package providers
