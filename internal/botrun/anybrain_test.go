package botrun

import (
	"context"
	"testing"

	"switchboard/internal/bus"
	"switchboard/internal/hub"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

// Where no bot has a brain the runner skips its reads; a brain given
// through this node (a new bot, or one given later with Forget, as the admin
// API does) is answered at once all the same.
func TestABrainGivenAfterNoneHadOneAnswersAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b := bus.NewLocal()
		h := hub.New(st, b, hub.Options{})
		r := New(h, Config{Workers: 2}, nil)
		e := &env{t: t, h: h, r: r, handled: make(chan job, 256)}
		r.done = func(j job) { e.handled <- j }
		stop := b.Subscribe("bots", r.OnChange)
		t.Cleanup(func() { stop(); _ = r.Close(context.Background()) })

		external, err := h.CreateBot(ctx, hub.NewBot{Name: "External"})
		if err != nil {
			t.Fatal(err)
		}
		e.bot = external
		ch, cust, err := h.StartSession(ctx, external.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantMessages(t, e.say(ch.ID, cust, "hello"))

		if e.bot, err = h.CreateBot(ctx, hub.NewBot{Name: "Demo", Manifest: DemoManifest()}); err != nil {
			t.Fatal(err)
		}
		ch2, cust2 := e.session(nil)
		if got := e.say(ch2, cust2, "hello"); len(got) == 0 {
			t.Fatal("a new bot with a brain was not answered")
		}

		if _, err := h.SetBotBrain(ctx, external.ID, DemoManifest(), nil); err != nil {
			t.Fatal(err)
		}
		r.Forget(external.ID)
		e.bot = external
		if got := e.say(ch.ID, cust, "hello again"); len(got) == 0 {
			t.Fatal("a bot given a brain through this node was not answered")
		}
	})
}
