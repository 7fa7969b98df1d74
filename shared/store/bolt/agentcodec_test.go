package bolt

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// fullAgent sets every field of routing.Agent to a distinct non-zero value,
// by reflection, so a field added to Agent later is covered automatically.
func fullAgent(t *testing.T) routing.Agent {
	var a routing.Agent
	v := reflect.ValueOf(&a).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch {
		case f.Kind() == reflect.String:
			f.SetString(fmt.Sprintf("%s-%d-ü", name, i))
		case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
			f.SetInt(int64(1000*i + 7))
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.Type() == reflect.TypeFor[[]string]():
			f.Set(reflect.ValueOf([]string{name + "-a", "", name + "-c"}))
		case f.Type() == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(time.Date(2020+i, time.Month(i%12+1), i+1, i, i, i, 1000*i+1, time.UTC)))
		default:
			t.Fatalf("routing.Agent.%s has type %s, which the agent codec does not handle: extend encodeAgent/decodeAgent", name, f.Type())
		}
	}
	return a
}

func TestAgentCodecCoversEveryField(t *testing.T) {
	want := fullAgent(t)
	got, err := decodeAgent(encodeAgent(want))
	if err != nil {
		t.Fatal(err)
	}
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range wv.NumField() {
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			t.Errorf("routing.Agent.%s does not survive the codec: got %v, want %v (extend encodeAgent/decodeAgent)",
				wv.Type().Field(i).Name, gv.Field(i).Interface(), wv.Field(i).Interface())
		}
	}
}

func TestAgentCodecZeroAndEmpty(t *testing.T) {
	for _, a := range []routing.Agent{{}, {Teams: []string{}}, {ID: "ag_1", Teams: []string{"t"}, OpenCount: -1, Version: 1 << 40}} {
		got, err := decodeAgent(encodeAgent(a))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("round trip of %#v gave %#v", a, got)
		}
	}
}

func TestAgentCodecRejectsCorruptInput(t *testing.T) {
	enc := encodeAgent(fullAgent(t))
	for n := range len(enc) {
		if _, err := decodeAgent(enc[:n]); err == nil {
			t.Fatalf("truncated to %d of %d bytes: want an error", n, len(enc))
		}
	}
	if _, err := decodeAgent(append(enc, 0)); err == nil {
		t.Fatal("trailing byte: want an error")
	}
	bad := append([]byte(nil), enc...)
	bad[0] = 99
	if _, err := decodeAgent(bad); err == nil {
		t.Fatal("unknown format: want an error")
	}
}

func TestTimeKeysSortLikeTimes(t *testing.T) {
	times := []time.Time{
		{},
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Unix(0, 0),
		time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC),
		time.Date(2025, 3, 3, 9, 0, 0, 1, time.UTC),
		time.Date(2025, 3, 3, 9, 0, 0, 500000000, time.UTC),
		time.Date(2025, 3, 3, 9, 0, 1, 0, time.UTC),
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i := 1; i < len(times); i++ {
		a, b := appendTime(nil, times[i-1]), appendTime(nil, times[i])
		if string(a) >= string(b) {
			t.Errorf("key of %v does not sort before key of %v", times[i-1], times[i])
		}
		if got := decodeTime(b); !got.Equal(times[i]) {
			t.Errorf("decodeTime(appendTime(%v)) = %v", times[i], got)
		}
	}
}
