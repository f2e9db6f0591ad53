package hub_test

import (
	"context"
	"testing"

	"switchboard/internal/bus"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store/storetest"
)

// BenchmarkAppend measures single-event appends, each its own committed hub
// call, spread over 100 chats (the shape of real traffic).
func BenchmarkAppend(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			st, _ := e.Open(b)
			h := hub.New(st, bus.NewLocal(), hub.Options{})
			ctx := context.Background()
			cust, err := h.CreateUser(ctx, core.User{Kind: core.KindCustomer}, nil)
			if err != nil {
				b.Fatal(err)
			}
			chats := make([]string, 100)
			for i := range chats {
				ch, _, _, err := h.StartChat(ctx, hub.StartChat{Users: []string{cust.ID}})
				if err != nil {
					b.Fatal(err)
				}
				chats[i] = ch.ID
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := h.SendEvent(ctx, chats[i%len(chats)], core.Event{AuthorID: cust.ID, Text: "hello there"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}
