package main

import (
	"encoding/binary"
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

// btuFields reads session and text whatever the order, the other fields and
// the escapes, and rejects payloads without both.
func TestBtuFields(t *testing.T) {
	for _, tc := range []struct {
		payload, session, text string
		ok                     bool
	}{
		{payload: `{"session":"s1","text":"m12","seq":3,"from":"bot"}`, session: "s1", text: "m12", ok: true},
		{payload: `{"seq":-3,"from":"bot","text":"m1","session":"s2"}`, session: "s2", text: "m1", ok: true},
		{payload: `{"session":"s1","text":"a \"quoted\" m1"}`, session: "s1", text: `a "quoted" m1`, ok: true},
		{payload: `{"session":"s1","meta":{"text":"no"},"text":"m2"}`, session: "s1", text: "m2", ok: true},
		{payload: `{ "session" : "s1" , "text" : "m3" }`, session: "s1", text: "m3", ok: true},
		{payload: `{"session":"s1"}`},
		{payload: `{"text":"m1"}`},
		{payload: `[1]`},
		{payload: `{"session":"s1","text":"m1"`},
	} {
		session, text, ok := btuFields([]byte(tc.payload))
		if ok != tc.ok || string(session) != tc.session || string(text) != tc.text {
			t.Errorf("%s: %q %q %v; want %q %q %v", tc.payload, session, text, ok, tc.session, tc.text, tc.ok)
		}
	}
}

// Client frames are masked (RFC 6455 section 5.3), with the length encoded
// in the shortest form, and unmask to the payload.
func TestAppendFrameMasks(t *testing.T) {
	for _, n := range []int{0, 1, 7, 125, 126, 1000, 65535, 65536, 70001} {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i*7 + 1)
		}
		f := appendFrame(nil, opText, payload)
		if f[0] != 0x80|opText || f[1]&0x80 == 0 {
			t.Fatalf("%d bytes: header % x: want FIN, text, MASK", n, f[:2])
		}
		hdr, got := 2, uint64(f[1]&0x7f)
		switch {
		case got == 126:
			hdr, got = 4, uint64(binary.BigEndian.Uint16(f[2:]))
			if n < 126 || n > 0xffff {
				t.Errorf("%d bytes: 16-bit length", n)
			}
		case got == 127:
			hdr, got = 10, binary.BigEndian.Uint64(f[2:])
			if n <= 0xffff {
				t.Errorf("%d bytes: 64-bit length", n)
			}
		case n >= 126:
			t.Errorf("%d bytes: 7-bit length", n)
		}
		if got != uint64(n) || len(f) != hdr+4+n {
			t.Fatalf("%d bytes: length %d, frame of %d", n, got, len(f))
		}
		key, body := f[hdr:hdr+4], f[hdr+4:]
		same := n > 0
		for i := range body {
			if body[i]^key[i%4] != payload[i] {
				t.Fatalf("%d bytes: byte %d unmasks to %d, want %d", n, i, body[i]^key[i%4], payload[i])
			}
			same = same && body[i] == payload[i]
		}
		if same && binary.LittleEndian.Uint32(key) != 0 {
			t.Errorf("%d bytes: payload sent as is", n)
		}
	}
}

// frameHeader waits for a whole header and refuses masked server frames and
// frames over the read limit.
func TestFrameHeader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		b      []byte
		hdr, n int
		err    bool
	}{
		{name: "short", b: []byte{0x81}},
		{name: "7-bit", b: []byte{0x81, 5}, hdr: 2, n: 5},
		{name: "16-bit partial", b: []byte{0x81, 126, 1}},
		{name: "16-bit", b: []byte{0x81, 126, 1, 0}, hdr: 4, n: 256},
		{name: "64-bit", b: []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}, hdr: 10, n: 65536},
		{name: "too large", b: []byte{0x81, 127, 0, 0, 0, 0, 1, 0, 0, 0}, err: true},
		{name: "masked", b: []byte{0x81, 0x85}, err: true},
		{name: "reserved bits", b: []byte{0xc1, 5}, err: true},
	} {
		_, _, hdr, n, err := frameHeader(tc.b)
		if hdr != tc.hdr || n != tc.n || (err != nil) != tc.err {
			t.Errorf("%s: %d %d %v; want %d %d error %v", tc.name, hdr, n, err, tc.hdr, tc.n, tc.err)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
