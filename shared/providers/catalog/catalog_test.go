package catalog

import (
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/providers"
)

func TestNew(t *testing.T) {
	reg := New(Config{PublicBaseURL: "https://hooks.example.com"})
	if got := strings.Join(reg.Names(), ","); got != "generic,messenger,telegram,twilio,whatsapp" {
		t.Errorf("names %s", got)
	}
	for _, n := range reg.Names() {
		p, _ := reg.Get(n)
		if p.Name() != n {
			t.Errorf("%s registered as %s", p.Name(), n)
		}
		if _, ok := reg.Sender(n); !ok {
			t.Errorf("%s cannot send", n)
		}
	}
	for _, n := range []string{providers.WhatsApp, providers.Messenger} {
		p, _ := reg.Get(n)
		if _, ok := p.(providers.Handshaker); !ok {
			t.Errorf("%s has no handshake", n)
		}
	}
	for _, n := range []string{providers.Twilio, providers.Telegram} {
		p, _ := reg.Get(n)
		if _, ok := p.(providers.Responder); !ok {
			t.Errorf("%s has no responder", n)
		}
	}
}
