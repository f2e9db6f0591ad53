package main

import (
	"encoding/json"
	"testing"
)

// splitFrame reads the ref, event and payload of the frames a server sends,
// escaped or not, and rejects what is not a frame.
func TestSplitFrame(t *testing.T) {
	for _, tc := range []struct {
		frame, ref, event, payload string
		ok                         bool
	}{
		{frame: `[null,"12","bot:b","phx_reply",{"status":"ok","response":{}}]`, ref: "12", event: "phx_reply", payload: `{"status":"ok","response":{}}`, ok: true},
		{frame: `[null,null,"bot:b","btu_msg",{"session":"s","text":"a, \"b\"]"}]`, event: "btu_msg", payload: `{"session":"s","text":"a, \"b\"]"}`, ok: true},
		{frame: `["1","3","bot:b","phx_reply",{}]`, ref: "3", event: "phx_reply", payload: `{}`, ok: true},
		{frame: `[ null , "1\u0032", "bot:b" , "btu_msg" , {} ]`, ref: "12", event: "btu_msg", payload: `{}`, ok: true},
		{frame: `["1","2","t","ev\"x",{}]`, ref: "2", event: `ev"x`, payload: `{}`, ok: true},
		{frame: `not json`},
		{frame: `{"a":1}`},
	} {
		ref, event, payload, ok := splitFrame([]byte(tc.frame))
		if ok != tc.ok || ref != tc.ref || event != tc.event {
			t.Errorf("%s: %q %q %v; want %q %q %v", tc.frame, ref, event, ok, tc.ref, tc.event, tc.ok)
			continue
		}
		if ok {
			var got, want any
			if json.Unmarshal(payload, &got) != nil || json.Unmarshal([]byte(tc.payload), &want) != nil || !jsonEqual(got, want) {
				t.Errorf("%s: payload %s; want %s", tc.frame, payload, tc.payload)
			}
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
