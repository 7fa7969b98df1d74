package embedded

import (
	"encoding/json"

	"github.com/switchboard-oss/switchboard/events"
)

func decodeDetail(ev events.Event, dst any) error { return json.Unmarshal(ev.Detail, dst) }
