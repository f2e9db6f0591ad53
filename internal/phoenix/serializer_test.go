package phoenix

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestDecodeAcceptsPhoenixShapes(t *testing.T) {
	tests := []struct {
		name    string
		proto   protocol
		in      string
		want    message
		wantErr bool
	}{
		{name: "v2 string refs", proto: protoV2, in: `["1","2","room:1","phx_join",{"a":1}]`,
			want: message{joinRef: raw(`"1"`), ref: raw(`"2"`), topic: "room:1", event: "phx_join", payload: raw(`{"a":1}`)}},
		{name: "v2 null join_ref, numeric ref, extra element", proto: protoV2, in: `[null, 5, "phoenix", "heartbeat", {}, "extra"]`,
			want: message{ref: raw(`5`), topic: "phoenix", event: "heartbeat", payload: raw(`{}`)}},
		{name: "v2 null payload", proto: protoV2, in: `[null,"1","t","e",null]`,
			want: message{ref: raw(`"1"`), topic: "t", event: "e", payload: raw(`{}`)}},
		{name: "v1 without join_ref", proto: protoV1, in: `{"topic":"t","event":"e","payload":{"x":[1]},"ref":"9"}`,
			want: message{ref: raw(`"9"`), topic: "t", event: "e", payload: raw(`{"x":[1]}`)}},
		{name: "v1 missing payload", proto: protoV1, in: `{"topic":"t","event":"e","ref":null,"join_ref":"3"}`,
			want: message{joinRef: raw(`"3"`), topic: "t", event: "e", payload: raw(`{}`)}},
		{name: "v2 short", proto: protoV2, in: `[null,"1","t","e"]`, wantErr: true},
		{name: "v2 object", proto: protoV2, in: `{"topic":"t"}`, wantErr: true},
		{name: "v2 numeric topic", proto: protoV2, in: `[null,"1",1,"e",{}]`, wantErr: true},
		{name: "v2 object ref", proto: protoV2, in: `[null,{},"t","e",{}]`, wantErr: true},
		{name: "v2 empty event", proto: protoV2, in: `[null,"1","t","",{}]`, wantErr: true},
		{name: "v1 missing event", proto: protoV1, in: `{"topic":"t"}`, wantErr: true},
		{name: "v1 array", proto: protoV1, in: `[null,"1","t","e",{}]`, wantErr: true},
		{name: "not json", proto: protoV1, in: `hello`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.proto.decode([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("decoded %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got.joinRef) != string(tt.want.joinRef) || string(got.ref) != string(tt.want.ref) ||
				got.topic != tt.want.topic || got.event != tt.want.event || string(got.payload) != string(tt.want.payload) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEncodeEscapesStrings(t *testing.T) {
	m := message{ref: raw(`"1"`), topic: "room:\"q\"\n\\\x01é\xff", event: "ev", payload: raw(`{}`)}
	for _, p := range []protocol{protoV1, protoV2} {
		out := p.encode(nil, &m)
		back, err := p.decode(out)
		if err != nil {
			t.Fatalf("v%d: %s: %v", p, out, err)
		}
		if want := "room:\"q\"\n\\\x01é\ufffd"; back.topic != want {
			t.Fatalf("v%d: topic %q, want %q", p, back.topic, want)
		}
	}
}

func TestReplyErrorJSON(t *testing.T) {
	tests := []struct {
		err  *ReplyError
		want string
	}{
		{&ReplyError{Reason: `un"authorized`}, `{"reason":"un\"authorized"}`},
		{&ReplyError{Reason: "starting", Fields: map[string]any{"retry": true, "reason": "ignored"}}, `{"reason":"starting","retry":true}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.err)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
		if re, ok := replyError(errors.Join(errors.New("wrapped"), tt.err)); !ok || re != tt.err {
			t.Errorf("replyError did not find %v", tt.err)
		}
	}
}

func FuzzDecodeEncode(f *testing.F) {
	for _, s := range []string{
		`["1","2","room:1","phx_join",{"a":1}]`,
		`{"topic":"t","event":"e","payload":{},"ref":"9"}`,
		`[null,-1.5e3,"\u0000","e",[1,2]]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, p := range []protocol{protoV1, protoV2} {
			m, err := p.decode([]byte(in))
			if err != nil {
				continue
			}
			if out := p.encode(nil, &m); !json.Valid(out) {
				t.Fatalf("v%d encoded invalid JSON %q from %q", p, out, in)
			}
		}
	})
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }
