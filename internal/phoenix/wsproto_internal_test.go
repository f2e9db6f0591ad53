package phoenix

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// clientFrame encodes a masked client frame.
func clientFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = binary.BigEndian.AppendUint16(append(b, 0x80|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 0x80|127), uint64(n))
	}
	mask := []byte{0x3D, 0x91, 0x07, 0xE2}
	b = append(b, mask...)
	for i, c := range payload {
		b = append(b, c^mask[i%4])
	}
	return b
}

// However a client's bytes are cut into reads, the reader finds the same
// messages and control frames, and keeps nothing once they are complete.
func TestReaderIsIndependentOfHowBytesArrive(t *testing.T) {
	var stream []byte
	var want []string
	for i := range 40 {
		size := []int{0, 5, 125, 126, 300, 70000}[i%6] // 7-, 16- and 64-bit lengths
		msg := bytes.Repeat([]byte{byte('a' + i%26)}, size)
		switch i % 4 {
		case 0, 1:
			stream = append(stream, clientFrame(true, opText, msg)...)
			want = append(want, fmt.Sprintf("text %d %q", len(msg), firstBytes(msg)))
		case 2: // three fragments, a ping in the middle
			a, b := len(msg)/3, 2*len(msg)/3
			stream = append(stream, clientFrame(false, opText, msg[:a])...)
			stream = append(stream, clientFrame(true, opPing, []byte("p"))...)
			stream = append(stream, clientFrame(false, opContinuation, msg[a:b])...)
			stream = append(stream, clientFrame(true, opContinuation, msg[b:])...)
			want = append(want, `ping 1 "p"`, fmt.Sprintf("text %d %q", len(msg), firstBytes(msg)))
		case 3:
			stream = append(stream, clientFrame(true, opPong, nil)...)
			want = append(want, `pong 0 ""`)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		r := wsReader{max: 1 << 20}
		var got []string
		on := func(ev wsEvent) bool {
			name := map[byte]string{opText: "text", opPing: "ping", opPong: "pong"}[ev.op]
			got = append(got, fmt.Sprintf("%s %d %q", name, len(ev.payload), firstBytes(ev.payload)))
			return true
		}
		in := bytes.Clone(stream) // payloads are unmasked in place
		for len(in) > 0 {
			n := 1 + rng.IntN(min(len(in), []int{3, 200, 5000}[round%3]))
			if err := r.feed(bytes.Clone(in[:n]), on); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			in = in[n:]
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d: got %v\nwant %v", round, got, want)
		}
		if r.partial != nil || r.msg != nil || r.msgOp != 0 {
			t.Fatalf("round %d: the reader keeps %d partial bytes, %d message bytes", round, len(r.partial), len(r.msg))
		}
	}
}

func firstBytes(b []byte) []byte { return b[:min(len(b), 3)] }
