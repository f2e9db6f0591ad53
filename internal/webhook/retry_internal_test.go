package webhook

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"switchboard/internal/store"
)

func TestRetryDecisions(t *testing.T) {
	e := &Engine{opts: Options{RetrySchedule: []time.Duration{time.Second, time.Minute}}}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		n, status  int
		retryAfter time.Duration
		want       string
		wait       time.Duration
	}{
		{1, 200, 0, store.DeliveryDelivered, 0},
		{1, 204, 0, store.DeliveryDelivered, 0},
		{1, 0, 0, store.DeliveryPending, time.Second}, // network error
		{1, 500, 0, store.DeliveryPending, time.Second},
		{2, 503, 0, store.DeliveryPending, time.Minute},
		{3, 503, 0, store.DeliveryDead, 0}, // schedule exhausted
		{1, 408, 0, store.DeliveryPending, time.Second},
		{1, 429, 30 * time.Second, store.DeliveryPending, 30 * time.Second}, // Retry-After is honoured
		{2, 429, time.Second, store.DeliveryPending, time.Minute},           // but never shortens the schedule
		{1, 400, 0, store.DeliveryFailed, 0},
		{1, 404, 0, store.DeliveryFailed, 0},
		{1, 410, 0, store.DeliveryFailed, 0},
		{1, 302, 0, store.DeliveryFailed, 0},
	}
	for _, c := range cases {
		got, next, _ := e.decide(c.n, c.status, c.retryAfter, now)
		if got != c.want {
			t.Errorf("attempt %d status %d: %s, want %s", c.n, c.status, got, c.want)
		}
		if c.wait > 0 && next.Sub(now) != c.wait {
			t.Errorf("attempt %d status %d: retry after %s, want %s", c.n, c.status, next.Sub(now), c.wait)
		}
	}
}

func TestJitterStaysWithinItsBand(t *testing.T) {
	e := &Engine{opts: Options{RetrySchedule: []time.Duration{10 * time.Second}, Jitter: 0.1}}
	now := time.Now()
	for i := 0; i < 200; i++ {
		_, next, _ := e.decide(1, 500, 0, now)
		if w := next.Sub(now); w < 9*time.Second || w > 11*time.Second {
			t.Fatalf("jittered wait %s outside 9s..11s", w)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":          0,
		"120":       2 * time.Minute,
		"-5":        0,
		"soon":      0,
		"999999999": 24 * time.Hour,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}

// Claims skip an endpoint only when it has more in hand than twice its
// limit and than it finished in a recent second: a slow endpoint, not a
// fast one with a long queue.
func TestSaturatedEndpoints(t *testing.T) {
	now := time.Now()
	host := func(sub string, inHand int, finished int, at time.Time) *hostQueue {
		h := &hostQueue{active: min(inHand, 4), queue: make([]job, max(inHand-4, 0)), subs: map[string]int{sub: inHand}}
		for range finished {
			h.finished(at)
		}
		return h
	}
	d := &dispatcher{e: &Engine{opts: Options{PerEndpoint: 4}}, hosts: map[string]*hostQueue{
		"slow":  host("slow-sub", 10, 1, now),                       // 10 in hand, 1 finished a second
		"fast":  host("fast-sub", 10, 50, now),                      // 10 in hand, 50 a second: gone soon
		"quiet": host("quiet-sub", 10, 50, now.Add(-5*time.Second)), // fast once, nothing finished lately
		"small": host("small-sub", 7, 0, now),                       // under twice the limit
	}}
	got := d.saturated()
	slices.Sort(got)
	if want := []string{"quiet-sub", "slow-sub"}; !slices.Equal(got, want) {
		t.Fatalf("saturated %v, want %v", got, want)
	}
}

// An endpoint whose queue ran dry between two claims keeps the rate it
// finished requests at: the next claim, which fills its queue again, must
// not take it for a slow endpoint and skip it. (Forgetting it made that
// claim walk past every due delivery and return none, ~10 ms each.)
func TestFastEndpointStaysKnownWhenItsQueueEmpties(t *testing.T) {
	now := time.Now()
	h := &hostQueue{subs: map[string]int{}}
	for range 50 {
		h.finished(now)
	}
	d := &dispatcher{e: &Engine{opts: Options{Workers: 4, PerEndpoint: 4}}, hosts: map[string]*hostQueue{"fast": h}}
	if _, ok := d.nextLocked(); ok {
		t.Fatal("nextLocked took a job from empty queues")
	}
	if d.hosts["fast"] != h {
		t.Fatal("an endpoint that finished requests this second was forgotten when its queue emptied")
	}
	for range 10 {
		h.push(job{})
	}
	h.subs["fast-sub"] = 10
	if got := d.saturated(); len(got) != 0 {
		t.Fatalf("saturated %v, want none (10 in hand, 50 finished this second)", got)
	}
}

// An endpoint with nothing in hand and nothing finished lately is dropped
// (when the next claim looks), so idle endpoints do not pile up.
func TestIdleEndpointIsForgotten(t *testing.T) {
	h := &hostQueue{subs: map[string]int{}}
	h.finished(time.Now().Add(-5 * time.Second))
	d := &dispatcher{e: &Engine{opts: Options{Workers: 4, PerEndpoint: 4}}, hosts: map[string]*hostQueue{"idle": h}}
	_ = d.saturated()
	if _, ok := d.hosts["idle"]; ok {
		t.Fatal("an idle endpoint is still kept")
	}
}

// A worker that finishes a request and so makes room for a claim wakes the
// claimer at once, rather than leaving it asleep until the next outcome
// flush while the queues run dry; finishing with less room (or more, the
// claimer having been woken already) does not.
func TestFinishedRequestWakesClaimerWhenRoomOpens(t *testing.T) {
	d := &dispatcher{e: &Engine{opts: Options{Workers: 4, PerEndpoint: 4, BatchSize: 8}}, maxHeld: 12, wake: make(chan struct{}, 1)}
	h := &hostQueue{subs: map[string]int{"s": 20}}
	woken := func() bool {
		select {
		case <-d.wake:
			return true
		default:
			return false
		}
	}
	// A claim fits when at most maxHeld - BatchSize/2 = 8 are in hand.
	d.queued, d.active, h.active = 6, 4, 4
	d.doneLocked(h, "s", time.Now()) // 9 in hand
	if woken() {
		t.Fatal("woken with 9 in hand: no claim fits yet")
	}
	d.doneLocked(h, "s", time.Now()) // 8 in hand
	if !woken() {
		t.Fatal("not woken when room for a claim opened")
	}
	if got := d.free(); got != 4 {
		t.Fatalf("free = %d, want 4", got)
	}
	d.doneLocked(h, "s", time.Now()) // 7 in hand
	if woken() {
		t.Fatal("woken again for the same room")
	}
}
