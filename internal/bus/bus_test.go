package bus

import (
	"context"
	"testing"

	"switchboard/internal/core"
)

func TestLocalDeliversInPublishOrderToEverySubscriber(t *testing.T) {
	b := NewLocal()
	var a, c []int64
	b.Subscribe("a", func(ch core.Change) { a = append(a, ch.Events[0].Seq) })
	unsub := b.Subscribe("c", func(ch core.Change) { c = append(c, ch.Events[0].Seq) })
	for i := int64(1); i <= 3; i++ {
		if err := b.Publish(context.Background(), core.Change{ChatID: "x", Events: []core.Event{{Seq: i}}}); err != nil {
			t.Fatal(err)
		}
	}
	unsub()
	_ = b.Publish(context.Background(), core.Change{ChatID: "x", Events: []core.Event{{Seq: 4}}})
	if len(a) != 4 || a[0] != 1 || a[3] != 4 {
		t.Fatalf("subscriber a got %v, want 1..4 in order", a)
	}
	if len(c) != 3 || c[2] != 3 {
		t.Fatalf("unsubscribed c got %v, want 1..3", c)
	}
}
