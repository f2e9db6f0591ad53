package phoenix

import (
	"fmt"
	"testing"
)

// drain is a transport that discards frames as soon as they are queued.
type drain struct{ sock *Socket }

func (d *drain) kick()           { d.sock.out.take() }
func (d *drain) shutdown(string) {}

// BenchmarkBroadcast measures fan-out of one event to many joined sockets,
// half of them V1 and half V2 (encoding once per version).
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			srv := NewServer(Config{}, nil)
			for i := range n {
				d := &drain{}
				proto := protoV2
				if i%2 == 0 {
					proto = protoV1
				}
				d.sock = srv.newSocket(proto, ConnectInfo{Transport: "bench"}, nil, d)
				if !srv.addSocket(d.sock) {
					b.Fatal("server closed")
				}
				ch := &Channel{sock: d.sock, topic: "bot:1", joinRef: raw(`"1"`), state: stateJoined}
				if !d.sock.register(ch) {
					b.Fatal("socket gone")
				}
			}
			payload := map[string]string{"text": "Hello there, how can I help?", "session": "0190f4c2-7a4e-7c1e-9d8b-3c5e2a1f0b9d"}
			b.ReportAllocs()
			for b.Loop() {
				if err := srv.Broadcast("bot:1", "btu_msg", payload); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/socket")
		})
	}
}

// BenchmarkEncode measures building one V2 push frame.
func BenchmarkEncode(b *testing.B) {
	m := message{joinRef: raw(`"12"`), ref: raw(`"34"`), topic: "bot:0190f4c2-7a4e-7c1e-9d8b-3c5e2a1f0b9d", event: "btu_msg",
		payload: raw(`{"text":"Hello there, how can I help?","session":"0190f4c2-7a4e-7c1e-9d8b-3c5e2a1f0b9d"}`)}
	b.ReportAllocs()
	for b.Loop() {
		_ = protoV2.encode(make([]byte, 0, encodedSize(&m)), &m)
	}
}
