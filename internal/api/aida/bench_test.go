package aida_test

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"switchboard/internal/app"
	"switchboard/internal/phoenix"
)

// BenchmarkRoundTrip measures utb_msg → echo bot → btu_msg round trips over
// 1000 sessions on 1000 websockets, each message persisted. The load tool
// (cmd/swload) measures the same against a real server process; this one is
// for profiling (-cpuprofile).
func BenchmarkRoundTrip(b *testing.B) {
	const sessions = 1000
	a := startApp(b, app.Config{AIDA: app.AIDAConfig{EchoBots: true, Delivery: "session", Socket: phoenix.Config{MessageRate: -1}}})
	bot := mustBot(b, a, "tok")
	clients := make([]*client, sessions)
	ids := make([]string, sessions)
	for i := range clients {
		clients[i] = dial(b, a)
		mustOK(b, clients[i].join(bot, "tok"))
		ids[i] = newSession(b, clients[i], bot, `{}`)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	var wg sync.WaitGroup
	per := b.N/sessions + 1
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < per; n++ {
				c.push("bot:"+bot, "utb_msg", fmt.Sprintf(`{"session":%q,"text":"m%d"}`, ids[i], n))
				c.btu(bot, ids[i])
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(per*sessions)/b.Elapsed().Seconds(), "roundtrips/s")
	// CPU time of the whole process (server and in-process clients) per
	// round trip: steadier than the rate on a machine shared with others.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(per*sessions), "cpu-µs/roundtrip")
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
