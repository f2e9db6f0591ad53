package phoenix_test

import (
	"bufio"
	"bytes"
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

// rawJoin opens a websocket by hand, joins topic and reads the reply. The
// client side keeps only its net.Conn, so the memory measured is the server's.
// With pipelined, the join frame is sent together with the handshake.
func rawJoin(tb testing.TB, addr, topic string, pipelined bool) net.Conn {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	handshake := fmt.Appendf(nil, "GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	msg := []byte(`["1","1","` + topic + `","phx_join",{}]`)
	mask := [4]byte{1, 2, 3, 4}
	join := append([]byte{0x81, 0x80 | byte(len(msg))}, mask[:]...)
	for i, c := range msg {
		join = append(join, c^mask[i%4])
	}
	if pipelined {
		handshake = append(handshake, join...)
	}
	if _, err := conn.Write(handshake); err != nil {
		tb.Fatal(err)
	}
	br := bufio.NewReaderSize(conn, 256)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		tb.Fatalf("handshake: %v %v", resp, err)
	}
	if !pipelined {
		if _, err := conn.Write(join); err != nil {
			tb.Fatal(err)
		}
	}
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil || hdr[1] >= 126 {
		tb.Fatalf("reply header %v: %v", hdr, err)
	}
	body := make([]byte, hdr[1])
	if _, err := io.ReadFull(br, body); err != nil || !bytes.Contains(body, []byte(`"ok"`)) {
		tb.Fatalf("join reply %s: %v", body, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return conn
}

func inUse() (heap, stack uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.StackInuse
}

// BenchmarkIdleJoinedWebsocketMemory reports heap and stack bytes per idle
// websocket joined to one channel. Run with -benchtime=1x.
func BenchmarkIdleJoinedWebsocketMemory(b *testing.B) {
	const n = 2000
	e := newEnv(b, phoenix.Config{})
	addr := strings.TrimPrefix(e.ts.URL, "http://")
	for b.Loop() {
		heap0, stack0 := inUse()
		conns := make([]net.Conn, n)
		for i := range conns {
			conns[i] = rawJoin(b, addr, fmt.Sprintf("room:%d", i%50), false)
		}
		heap1, stack1 := inUse()
		b.ReportMetric(float64(heap1+stack1-heap0-stack0)/n, "B/conn")
		b.ReportMetric(float64(stack1-stack0)/n, "stack-B/conn")
		for _, c := range conns {
			_ = c.Close()
		}
		for {
			if conns, _ := e.srv.Stats(); conns == 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestFrameSentWithHandshakeIsKept(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	conn := rawJoin(t, strings.TrimPrefix(e.ts.URL, "http://"), "room:early", true)
	_ = conn.Close()
}
