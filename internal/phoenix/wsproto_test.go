package phoenix_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"switchboard/internal/phoenix"
)

// rawWS is a websocket client written against RFC 6455 directly, so tests
// control every byte the server sees.
type rawWS struct {
	tb   testing.TB
	conn net.Conn
	br   *bufio.Reader
}

// dialRaw completes a handshake (vsn 2.0.0) with extra request header lines.
func dialRaw(tb testing.TB, e *env, extra string) (*rawWS, *http.Response) {
	tb.Helper()
	addr := strings.TrimPrefix(e.ts.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		tb.Fatal(err)
	}
	c := &rawWS{tb: tb, conn: conn, br: bufio.NewReader(conn)}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return c, resp
}

// frameBytes encodes a client frame, masked unless mask is nil.
func frameBytes(fin bool, op byte, payload []byte, mask []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	var m byte
	if mask != nil {
		m = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, m|byte(n))
	case n <= 0xFFFF:
		b = binary.BigEndian.AppendUint16(append(b, m|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, m|127), uint64(n))
	}
	if mask == nil {
		return append(b, payload...)
	}
	b = append(b, mask...)
	for i, c := range payload {
		b = append(b, c^mask[i%4])
	}
	return b
}

var testMask = []byte{0xA1, 0x5B, 0x3C, 0x07}

func (c *rawWS) write(b []byte) {
	c.tb.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

func (c *rawWS) writeFrame(fin bool, op byte, payload string) {
	c.tb.Helper()
	c.write(frameBytes(fin, op, []byte(payload), testMask))
}

// readFrame reads one server frame, which must be final and unmasked.
func (c *rawWS) readFrame() (op byte, payload []byte) {
	c.tb.Helper()
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		c.tb.Fatalf("read frame: %v", err)
	}
	if h[0]&0xF0 != 0x80 || h[1]&0x80 != 0 {
		c.tb.Fatalf("server frame header %08b %08b: want FIN, no RSV, unmasked", h[0], h[1])
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var l [2]byte
		_, _ = io.ReadFull(c.br, l[:])
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		_, _ = io.ReadFull(c.br, l[:])
		n = binary.BigEndian.Uint64(l[:])
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(c.br, payload); err != nil {
		c.tb.Fatalf("read payload: %v", err)
	}
	return h[0] & 0x0F, payload
}

// expectText reads the next frame and checks it is a text frame containing want.
func (c *rawWS) expectText(want string) {
	c.tb.Helper()
	op, p := c.readFrame()
	if op != 0x1 || !strings.Contains(string(p), want) {
		c.tb.Fatalf("got opcode %d %q, want a text frame with %q", op, p, want)
	}
}

// expectClose reads the server's close frame and then the end of the stream.
func (c *rawWS) expectClose(code int) {
	c.tb.Helper()
	op, p := c.readFrame()
	if op != 0x8 || len(p) < 2 || int(binary.BigEndian.Uint16(p)) != code {
		c.tb.Fatalf("got opcode %d %q, want close %d", op, p, code)
	}
}

func (c *rawWS) expectEOF() {
	c.tb.Helper()
	if b, err := c.br.ReadByte(); err == nil {
		c.tb.Fatalf("read %#x, want the connection closed", b)
	}
}

// modes runs a test with the poller (where there is one) and with a reader
// goroutine per connection.
func modes(t *testing.T, f func(t *testing.T, e *env)) {
	t.Run("default", func(t *testing.T) { f(t, newEnv(t, phoenix.Config{MaxFrameSize: 4096})) })
	t.Run("goroutine per connection", func(t *testing.T) {
		e := newEnv(t, phoenix.Config{MaxFrameSize: 4096})
		phoenix.ReadWithGoroutines(e.srv)
		f(t, e)
	})
}

func TestWebsocketHandshake(t *testing.T) {
	modes(t, func(t *testing.T, e *env) {
		c, resp := dialRaw(t, e, "Sec-WebSocket-Protocol: phoenix, base64url.bearer.phx.c2VjcmV0\r\n")
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("status %d", resp.StatusCode)
		}
		// The RFC 6455 section 1.3 example key and answer.
		if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
			t.Fatalf("Sec-WebSocket-Accept %q", got)
		}
		if got := resp.Header.Values("Sec-WebSocket-Protocol"); len(got) != 1 || got[0] != "phoenix" {
			t.Fatalf("Sec-WebSocket-Protocol %q, want only phoenix (never the token)", got)
		}
		if resp.Header.Get("Sec-WebSocket-Extensions") != "" {
			t.Fatal("an extension was accepted")
		}
		c.writeFrame(true, 0x1, `["1","1","room:h","whoami",{}]`)
		c.expectText(`"unmatched topic"`)

		for _, tt := range []struct {
			name, extra string
			status      int
		}{
			{"version", "", http.StatusBadRequest},
		} {
			addr := strings.TrimPrefix(e.ts.URL, "http://")
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/socket/websocket?vsn=2.0.0", nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			req.Header.Set("Sec-WebSocket-Version", "8")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Fatalf("%s: status %d, Sec-WebSocket-Version %q", tt.name, resp.StatusCode, resp.Header.Get("Sec-WebSocket-Version"))
			}
		}
	})
}

func TestWebsocketFraming(t *testing.T) {
	modes(t, func(t *testing.T, e *env) {
		c, _ := dialRaw(t, e, "")
		c.writeFrame(true, 0x1, `["1","1","room:f","phx_join",{}]`)
		c.expectText(`"ok"`)

		// A message in three fragments with a ping between them.
		c.writeFrame(false, 0x1, `["1","2","room:f",`)
		c.writeFrame(true, 0x9, "are you there")
		c.writeFrame(false, 0x0, `"echo",{"a":`)
		c.writeFrame(true, 0x0, `1}]`)
		if op, p := c.readFrame(); op != 0xA || string(p) != "are you there" {
			t.Fatalf("got opcode %d %q, want a pong echoing the ping", op, p)
		}
		c.expectText(`{"status":"ok","response":{"a":1}}`)

		// Frames split anywhere across writes, and the 16- and 64-bit lengths.
		medium := `["1","3","room:f","echo",{"pad":"` + strings.Repeat("m", 300) + `"}]`
		b := frameBytes(true, 0x1, []byte(medium), testMask)
		for i := range b {
			c.write(b[i : i+1])
		}
		c.expectText(strings.Repeat("m", 300))
		big := []byte(`["1","4","room:f","echo",{"pad":"` + strings.Repeat("b", 3000) + `"}]`)
		long := frameBytes(true, 0x1, big, testMask)
		// The same frame with a 64-bit length (allowed, if not minimal).
		long = append([]byte{0x81, 0x80 | 127}, binary.BigEndian.AppendUint64(nil, uint64(len(big)))...)
		long = append(long, frameBytes(true, 0x1, big, testMask)[4:]...)
		c.write(append(long, frameBytes(true, 0x1, []byte(`["1","5","room:f","echo",{}]`), testMask)...))
		c.expectText(strings.Repeat("b", 3000))
		c.expectText(`"5"`)

		// A binary frame and a pong are ignored; the socket stays up.
		c.write(append(frameBytes(true, 0x2, []byte{1, 2, 3}, testMask), frameBytes(true, 0xA, nil, testMask)...))
		c.writeFrame(true, 0x1, `[null,"6","phoenix","heartbeat",{}]`)
		c.expectText(`"6"`)

		// The close handshake: the server answers with the code and hangs up.
		c.write(frameBytes(true, 0x8, binary.BigEndian.AppendUint16(nil, 1000), testMask))
		c.expectClose(1000)
		c.expectEOF()
		if reason := e.metrics.waitClosed(t); reason != phoenix.ReasonClientClosed {
			t.Fatalf("close reason %q", reason)
		}
	})
}

func TestWebsocketViolationsCloseTheConnection(t *testing.T) {
	tests := []struct {
		name   string
		frames [][]byte
		code   int
		reason string
	}{
		{"unmasked frame", [][]byte{frameBytes(true, 0x1, []byte(`[]`), nil)}, 1002, phoenix.ReasonProtocolError},
		{"reserved bit", [][]byte{append([]byte{0xC1}, frameBytes(true, 0x1, []byte(`[]`), testMask)[1:]...)}, 1002, phoenix.ReasonProtocolError},
		{"unknown opcode", [][]byte{frameBytes(true, 0x3, nil, testMask)}, 1002, phoenix.ReasonProtocolError},
		{"fragmented ping", [][]byte{frameBytes(false, 0x9, nil, testMask)}, 1002, phoenix.ReasonProtocolError},
		{"continuation without a start", [][]byte{frameBytes(true, 0x0, []byte(`[]`), testMask)}, 1002, phoenix.ReasonProtocolError},
		{"new message inside a fragmented one", [][]byte{frameBytes(false, 0x1, []byte(`[`), testMask), frameBytes(true, 0x1, []byte(`[]`), testMask)}, 1002, phoenix.ReasonProtocolError},
		{"oversize frame", [][]byte{frameBytes(true, 0x1, make([]byte, 4097), testMask)}, 1009, phoenix.ReasonFrameTooLarge},
		{"oversize fragmented message", [][]byte{frameBytes(false, 0x1, make([]byte, 3000), testMask), frameBytes(true, 0x0, make([]byte, 3000), testMask)}, 1009, phoenix.ReasonFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			modes(t, func(t *testing.T, e *env) {
				c, _ := dialRaw(t, e, "")
				for _, f := range tt.frames {
					c.write(f)
				}
				c.expectClose(tt.code)
				if tt.code == 1009 {
					// The stream is still readable: the server waits for the
					// client's answer to its close frame, then hangs up.
					c.write(frameBytes(true, 0x8, binary.BigEndian.AppendUint16(nil, uint16(tt.code)), testMask))
				}
				c.expectEOF() // a broken stream: the server hangs up at once
				if reason := e.metrics.waitClosed(t); reason != tt.reason {
					t.Fatalf("close reason %q, want %q", reason, tt.reason)
				}
			})
		})
	}
}

// An idle websocket must not hold a goroutine where the poller runs: memory
// per connection is the point (docs/BENCHMARKS.md).
func TestIdleWebsocketsParkNoGoroutine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the poller is Linux-only; elsewhere a reader goroutine per connection is expected")
	}
	const n = 300
	for _, tt := range []struct {
		name       string
		goroutines bool
	}{{"poller", false}, {"goroutine per connection", true}} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, phoenix.Config{})
			if tt.goroutines {
				phoenix.ReadWithGoroutines(e.srv)
			}
			addr := strings.TrimPrefix(e.ts.URL, "http://")
			rawJoin(t, addr, "room:warmup", false).Close()
			before := settledGoroutines(t)
			conns := make([]net.Conn, n)
			for i := range conns {
				conns[i] = rawJoin(t, addr, fmt.Sprintf("room:%d", i), false)
			}
			delta := settledGoroutines(t) - before
			t.Logf("%d idle joined websockets: %+d goroutines", n, delta)
			// Frame workers come and go (they exit when idle), hence the margins.
			if tt.goroutines && delta < n/2 {
				t.Fatalf("%d more goroutines; the fallback should have one reader per connection", delta)
			}
			if !tt.goroutines && delta >= n/10 {
				t.Fatalf("%d more goroutines for %d idle connections; want no goroutine per connection", delta, n)
			}
			// And they are still served.
			defer func() {
				for _, c := range conns {
					_ = c.Close()
				}
			}()
			for _, c := range conns[:5] {
				msg := []byte(`[null,"9","phoenix","heartbeat",{}]`)
				if _, err := c.Write(frameBytes(true, 0x1, msg, testMask)); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 256)
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if k, err := c.Read(buf); err != nil || !bytes.Contains(buf[:k], []byte(`"9"`)) {
					t.Fatalf("heartbeat reply %q: %v", buf[:k], err)
				}
			}
		})
	}
}

// settledGoroutines returns the goroutine count once writers that were still
// finishing a write have exited (it stops changing).
func settledGoroutines(t *testing.T) int {
	t.Helper()
	last := runtime.NumGoroutine()
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		now := runtime.NumGoroutine()
		if now == last {
			return now
		}
		last = now
	}
	return last
}
