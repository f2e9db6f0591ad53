package hub_test

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"switchboard/internal/bus"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store/storetest"
)

func benchChats(b *testing.B, h *hub.Hub, n int) (string, []string) {
	b.Helper()
	ctx := context.Background()
	cust, err := h.CreateUser(ctx, core.User{Kind: core.KindCustomer}, nil)
	if err != nil {
		b.Fatal(err)
	}
	chats := make([]string, n)
	for i := range chats {
		ch, _, _, err := h.StartChat(ctx, hub.StartChat{Users: []string{cust.ID}})
		if err != nil {
			b.Fatal(err)
		}
		chats[i] = ch.ID
	}
	return cust.ID, chats
}

// BenchmarkAppend measures single-event appends, each its own committed hub
// call, one after another, spread over 100 chats.
func BenchmarkAppend(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			st, _ := e.Open(b)
			h := hub.New(st, bus.NewLocal(), hub.Options{})
			cust, chats := benchChats(b, h, 100)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := h.SendEvent(ctx, chats[i%len(chats)], core.Event{AuthorID: cust, Text: "hello there"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}

// BenchmarkAppendParallel is BenchmarkAppend from 16 goroutines at once
// (many clients), where PostgreSQL can overlap commits.
func BenchmarkAppendParallel(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			st, _ := e.Open(b)
			h := hub.New(st, bus.NewLocal(), hub.Options{})
			cust, chats := benchChats(b, h, 100)
			ctx := context.Background()
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(8) // 8 × GOMAXPROCS(2) = 16 goroutines
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					if _, err := h.SendEvent(ctx, chats[int(i)%len(chats)], core.Event{AuthorID: cust, Text: "hello there"}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}

// cpuTime is the process's user+system CPU time so far: CPU per operation
// is steadier than a rate on a machine shared with other work.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
