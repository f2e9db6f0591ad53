package hub_test

import (
	"context"
	"sync"
	"testing"

	"switchboard/internal/bus"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

type routingFixture struct {
	t    *testing.T
	h    *hub.Hub
	st   *store.Store
	cust core.User
}

func newRouting(t *testing.T, st *store.Store) *routingFixture {
	h, _ := newHub(t, st)
	return &routingFixture{t: t, h: h, st: st, cust: mustUser(t, h, core.KindCustomer, "")}
}

func (f *routingFixture) group(name string) int64 {
	g, err := f.h.CreateGroup(context.Background(), core.Group{Name: name})
	if err != nil {
		f.t.Fatal(err)
	}
	return g.ID
}

func (f *routingFixture) agent(name string, kind core.UserKind, max int, status core.RoutingStatus, ms ...core.Membership) string {
	f.t.Helper()
	u, err := f.h.CreateUser(context.Background(), core.User{Kind: kind, Name: name, MaxChats: max, Status: status}, ms)
	if err != nil {
		f.t.Fatal(err)
	}
	return u.ID
}

// chat starts a customer chat in a group and routes it.
func (f *routingFixture) chat(group int64) (string, hub.RouteResult) {
	f.t.Helper()
	ctx := context.Background()
	ch, _, _, err := f.h.StartChat(ctx, hub.StartChat{Users: []string{f.cust.ID}, GroupID: group,
		Events: []core.Event{{AuthorID: f.cust.ID, Text: "help"}}})
	if err != nil {
		f.t.Fatal(err)
	}
	res, err := f.h.Route(ctx, ch.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return ch.ID, res
}

func (f *routingFixture) load(agent string) int {
	as, err := f.st.Read().AgentAssignments(context.Background(), agent)
	if err != nil {
		f.t.Fatal(err)
	}
	return len(as)
}

func TestRoutingPriorityTiersCapacityAndQueue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newRouting(t, st)
		ctx := context.Background()
		g := f.group("Support")
		last := f.agent("Lara", core.KindPerson, 1, core.StatusAccepting, core.Membership{GroupID: g, Priority: core.PriorityLast})
		first := f.agent("Bot", core.KindBot, 1, core.StatusAccepting, core.Membership{GroupID: g, Priority: core.PriorityFirst})
		normal := f.agent("Nina", core.KindPerson, 1, core.StatusAccepting, core.Membership{GroupID: g, Priority: core.PriorityNormal})
		f.agent("Off", core.KindPerson, 5, core.StatusNotAccepting, core.Membership{GroupID: g, Priority: core.PriorityFirst})

		var got []string
		for i := 0; i < 3; i++ {
			_, res := f.chat(g)
			got = append(got, res.AgentID)
		}
		if got[0] != first || got[1] != normal || got[2] != last {
			t.Fatalf("assignment order %v; want first, normal, last tiers", got)
		}
		c4, r4 := f.chat(g)
		c5, r5 := f.chat(g)
		if !r4.Queued || r4.Position != 1 || !r5.Queued || r5.Position != 2 {
			t.Fatalf("with every agent full: %+v %+v; want queued at 1 and 2", r4, r5)
		}

		// The assigned agent joined the chat and a router system message was written.
		evs, _ := f.h.Events(ctx, mustFirstChat(t, f, first), 0, 10)
		if len(evs) != 2 || evs[1].Type != core.EventSystemMessage || evs[1].SystemType != hub.SystemRoutingAssigned {
			t.Fatalf("events after assignment: %+v", evs)
		}

		// A closed thread frees the slot: the head of the queue takes it at once.
		if _, err := f.h.CloseThread(ctx, mustFirstChat(t, f, normal), normal); err != nil {
			t.Fatal(err)
		}
		if f.load(normal) != 1 {
			t.Fatalf("normal agent load %d; want 1 (took the queued chat)", f.load(normal))
		}
		if _, err := f.h.QueuePosition(ctx, c4); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("c4 still queued: %v", err)
		}
		if pos, err := f.h.QueuePosition(ctx, c5); err != nil || pos != 1 {
			t.Fatalf("c5 position %d %v; want 1", pos, err)
		}

		// An agent who starts accepting takes the queue.
		off := f.agent("Late", core.KindPerson, 2, core.StatusOffline, core.Membership{GroupID: g})
		if err := f.h.SetAgentStatus(ctx, off, core.StatusAccepting); err != nil {
			t.Fatal(err)
		}
		if f.load(off) != 1 {
			t.Fatalf("agent that started accepting has %d chats; want 1", f.load(off))
		}
		if _, err := f.h.QueuePosition(ctx, c5); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("c5 still queued: %v", err)
		}
	})
}

// mustFirstChat returns the chat of an agent's oldest active assignment.
func mustFirstChat(t *testing.T, f *routingFixture, agent string) string {
	t.Helper()
	as, err := f.st.Read().AgentAssignments(context.Background(), agent)
	if err != nil || len(as) == 0 {
		t.Fatalf("agent has no assignment: %v", err)
	}
	return as[0].ChatID
}

func TestRoutingLeastLoadedThenLongestIdle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newRouting(t, st)
		g := f.group("Sales")
		a := f.agent("A", core.KindPerson, 5, core.StatusAccepting, core.Membership{GroupID: g})
		b := f.agent("B", core.KindPerson, 5, core.StatusAccepting, core.Membership{GroupID: g})
		for i := 0; i < 4; i++ {
			f.chat(g)
		}
		if f.load(a) != 2 || f.load(b) != 2 {
			t.Fatalf("loads %d/%d; want 2/2", f.load(a), f.load(b))
		}
	})
}

func TestTransferToGroupAndAgent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newRouting(t, st)
		ctx := context.Background()
		bots := f.group("Bots")
		humans := f.group("Humans")
		bot := f.agent("Bot", core.KindBot, 1, core.StatusAccepting, core.Membership{GroupID: bots})
		ann := f.agent("Ann", core.KindPerson, 1, core.StatusAccepting, core.Membership{GroupID: humans})
		bob := f.agent("Bob", core.KindPerson, 1, core.StatusAccepting, core.Membership{GroupID: humans})

		c1, r1 := f.chat(bots)
		c2, r2 := f.chat(bots)
		if r1.AgentID != bot || !r2.Queued {
			t.Fatalf("bot group: %+v %+v", r1, r2)
		}
		// The bot hands c1 to the humans: Ann or Bob gets it, the bot leaves
		// and its freed slot takes c2 from the bots' queue.
		res, err := f.h.Transfer(ctx, c1, hub.TransferTarget{GroupID: &humans})
		if err != nil {
			t.Fatal(err)
		}
		if res.AgentID != ann && res.AgentID != bob {
			t.Fatalf("transfer result %+v", res)
		}
		if p, err := st.Read().Participant(ctx, c1, bot); err != nil || p.Present() {
			t.Fatalf("bot still in transferred chat: %+v %v", p, err)
		}
		if mustFirstChat(t, f, bot) != c2 {
			t.Fatal("bot did not take the queued chat after its slot freed")
		}
		ch, _ := f.h.Chat(ctx, c1)
		if ch.GroupID != humans {
			t.Fatalf("chat group %d; want %d", ch.GroupID, humans)
		}

		// Transfer to a named agent without a free slot fails and changes nothing.
		other := ann
		if res.AgentID == ann {
			other = bob
		}
		if _, err := f.h.Transfer(ctx, c2, hub.TransferTarget{AgentID: other}); err != nil {
			t.Fatal(err)
		}
		_, err = f.h.Transfer(ctx, c2, hub.TransferTarget{AgentID: res.AgentID})
		wantCode(t, err, core.EConflict)
		if mustFirstChat(t, f, other) != c2 || f.load(res.AgentID) != 1 {
			t.Fatal("a failed transfer changed assignments")
		}
		_, err = f.h.Transfer(ctx, c2, hub.TransferTarget{})
		wantCode(t, err, core.EInvalid)
	})
}

func TestTakeChatFromQueue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newRouting(t, st)
		ctx := context.Background()
		g := f.group("Desk")
		other := f.group("Other")
		ann := f.agent("Ann", core.KindPerson, 2, core.StatusNotAccepting, core.Membership{GroupID: g})
		out := f.agent("Out", core.KindPerson, 2, core.StatusAccepting, core.Membership{GroupID: other})
		c, r := f.chat(g)
		if !r.Queued {
			t.Fatalf("%+v; want queued", r)
		}
		_, err := f.h.TakeChat(ctx, out, c)
		wantCode(t, err, core.EForbidden)
		if _, err := f.h.TakeChat(ctx, ann, c); err != nil {
			t.Fatal(err)
		}
		_, err = f.h.TakeChat(ctx, ann, c)
		wantCode(t, err, core.EConflict)
		if f.load(ann) != 1 {
			t.Fatal("take did not assign")
		}
	})
}

// TestConcurrentRoutingNeverOverbooks routes many chats at once from two
// hubs on two connections to one database (two nodes) at one agent.
func TestConcurrentRoutingNeverOverbooks(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st1, url := e.Open(t)
			st2, err := store.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer st2.Close()
			f := newRouting(t, st1)
			h2 := hub.New(st2, bus.NewLocal(), hub.Options{})
			ctx := context.Background()
			g := f.group("Race")
			const capacity, chats = 3, 24
			agent := f.agent("Solo", core.KindPerson, capacity, core.StatusAccepting, core.Membership{GroupID: g})
			ids := make([]string, chats)
			for i := range ids {
				ch, _, _, err := f.h.StartChat(ctx, hub.StartChat{Users: []string{f.cust.ID}, GroupID: g})
				if err != nil {
					t.Fatal(err)
				}
				ids[i] = ch.ID
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			assigned, queued := 0, 0
			for i, id := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					h := f.h
					if i%2 == 1 {
						h = h2
					}
					res, err := h.Route(ctx, id)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					if res.AgentID != "" {
						assigned++
					} else if res.Queued {
						queued++
					}
				}()
			}
			wg.Wait()
			if assigned != capacity || queued != chats-capacity || f.load(agent) != capacity {
				t.Fatalf("assigned %d, queued %d, agent load %d; want %d, %d, %d", assigned, queued, f.load(agent), capacity, chats-capacity, capacity)
			}
			q, _ := f.h.Queue(ctx, g, 100)
			if len(q) != chats-capacity {
				t.Fatalf("queue holds %d; want %d", len(q), chats-capacity)
			}
		})
	}
}
