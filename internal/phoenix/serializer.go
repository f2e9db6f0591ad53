package phoenix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"switchboard/internal/jsontext"
)

// Reserved Phoenix event names.
const (
	eventJoin      = "phx_join"
	eventLeave     = "phx_leave"
	eventReply     = "phx_reply"
	eventClose     = "phx_close"
	eventError     = "phx_error"
	eventHeartbeat = "heartbeat"
	topicPhoenix   = "phoenix"
)

// message is one Phoenix frame. Refs are kept as raw JSON (a string, a number,
// or nil for null) so they go back to the client exactly as it sent them.
type message struct {
	joinRef json.RawMessage
	ref     json.RawMessage
	topic   string
	event   string
	payload json.RawMessage
}

// protocol is a serializer version chosen by the vsn connect parameter.
type protocol uint8

const (
	protoV1 protocol = 1 // JSON object {topic, event, payload, ref, join_ref}
	protoV2 protocol = 2 // JSON array [join_ref, ref, topic, event, payload]
)

// parseVsn maps the vsn query parameter to a serializer; absent means 1.0.0.
func parseVsn(vsn string) (protocol, bool) {
	switch vsn {
	case "", "1.0.0":
		return protoV1, true
	case "2.0.0":
		return protoV2, true
	}
	return 0, false
}

// errShape reports a frame that is valid JSON but not a Phoenix message.
var errShape = errors.New("not a phoenix message")

// decode parses one text frame.
func (p protocol) decode(data []byte) (message, error) {
	if p == protoV2 {
		return decodeV2(data)
	}
	return decodeV1(data)
}

func decodeV1(data []byte) (message, error) {
	var raw struct {
		Topic   *string         `json:"topic"`
		Event   *string         `json:"event"`
		Payload json.RawMessage `json:"payload"`
		Ref     json.RawMessage `json:"ref"`
		JoinRef json.RawMessage `json:"join_ref"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return message{}, fmt.Errorf("decode v1: %w", err)
	}
	if raw.Topic == nil || raw.Event == nil {
		return message{}, fmt.Errorf("decode v1: missing topic or event: %w", errShape)
	}
	return newMessage(raw.JoinRef, raw.Ref, *raw.Topic, *raw.Event, raw.Payload)
}

func decodeV2(data []byte) (message, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return message{}, fmt.Errorf("decode v2: %w", err)
	}
	if len(raw) < 5 {
		return message{}, fmt.Errorf("decode v2: %d elements: %w", len(raw), errShape)
	}
	var topic, event string
	if err := json.Unmarshal(raw[2], &topic); err != nil {
		return message{}, fmt.Errorf("decode v2: topic: %w", errShape)
	}
	if err := json.Unmarshal(raw[3], &event); err != nil {
		return message{}, fmt.Errorf("decode v2: event: %w", errShape)
	}
	return newMessage(raw[0], raw[1], topic, event, raw[4])
}

func newMessage(joinRef, ref json.RawMessage, topic, event string, payload json.RawMessage) (message, error) {
	var err error
	if joinRef, err = checkRef(joinRef); err != nil {
		return message{}, err
	}
	if ref, err = checkRef(ref); err != nil {
		return message{}, err
	}
	if topic == "" || event == "" {
		return message{}, fmt.Errorf("empty topic or event: %w", errShape)
	}
	if len(payload) == 0 || bytes.Equal(payload, []byte("null")) {
		payload = json.RawMessage(emptyObject)
	}
	return message{joinRef: joinRef, ref: ref, topic: topic, event: event, payload: payload}, nil
}

// checkRef accepts a string, a number or null; null becomes nil.
func checkRef(ref json.RawMessage) (json.RawMessage, error) {
	if len(ref) == 0 || bytes.Equal(ref, []byte("null")) {
		return nil, nil
	}
	switch c := ref[0]; {
	case c == '"', c == '-', c >= '0' && c <= '9':
		return ref, nil
	}
	return nil, fmt.Errorf("ref %.20s: %w", ref, errShape)
}

const emptyObject = "{}"

// encode appends the frame for m to buf. V1 frames carry no join_ref, as in
// Phoenix; V2 frames carry both refs.
func (p protocol) encode(buf []byte, m *message) []byte {
	payload := m.payload
	if len(payload) == 0 {
		payload = json.RawMessage(emptyObject)
	}
	if p == protoV2 {
		buf = append(buf, '[')
		buf = appendRef(buf, m.joinRef)
		buf = append(buf, ',')
		buf = appendRef(buf, m.ref)
		buf = append(buf, ',')
		buf = jsontext.AppendString(buf, m.topic)
		buf = append(buf, ',')
		buf = jsontext.AppendString(buf, m.event)
		buf = append(buf, ',')
		buf = append(buf, payload...)
		return append(buf, ']')
	}
	buf = append(buf, `{"topic":`...)
	buf = jsontext.AppendString(buf, m.topic)
	buf = append(buf, `,"event":`...)
	buf = jsontext.AppendString(buf, m.event)
	buf = append(buf, `,"payload":`...)
	buf = append(buf, payload...)
	buf = append(buf, `,"ref":`...)
	buf = appendRef(buf, m.ref)
	return append(buf, '}')
}

// encodedSize estimates the frame size so encode allocates once.
func encodedSize(m *message) int {
	return 48 + len(m.joinRef) + len(m.ref) + len(m.topic) + len(m.event) + len(m.payload)
}

func appendRef(buf []byte, ref json.RawMessage) []byte {
	if len(ref) == 0 {
		return append(buf, "null"...)
	}
	return append(buf, ref...)
}

// replyPayload builds {"status":…,"response":…}.
func replyPayload(ok bool, response []byte) json.RawMessage {
	status := `{"status":"error","response":`
	if ok {
		status = `{"status":"ok","response":`
	}
	if len(response) == 0 {
		response = []byte(emptyObject)
	}
	buf := make([]byte, 0, len(status)+len(response)+1)
	buf = append(buf, status...)
	buf = append(buf, response...)
	return append(buf, '}')
}

// reasonJSON builds {"reason":…}.
func reasonJSON(reason string) []byte {
	buf := jsontext.AppendString([]byte(`{"reason":`), reason)
	return append(buf, '}')
}

// marshalPayload encodes an application value; nil becomes {}.
func marshalPayload(v any) (json.RawMessage, error) {
	switch v := v.(type) {
	case nil:
		return json.RawMessage(emptyObject), nil
	case json.RawMessage:
		if len(v) == 0 {
			return json.RawMessage(emptyObject), nil
		}
		if !json.Valid(v) {
			return nil, errors.New("invalid json.RawMessage")
		}
		return v, nil
	}
	return json.Marshal(v)
}
