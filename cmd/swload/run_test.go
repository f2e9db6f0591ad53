package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"switchboard/internal/app"
	"switchboard/internal/apptest"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/phoenix"
)

// startServer starts Switchboard as the benchmark runs it (echo bots,
// per-session delivery, no frame rate limit) and creates a bot.
func startServer(t *testing.T) (*url.URL, string) {
	t.Helper()
	a := apptest.Start(t, app.Config{AIDA: app.AIDAConfig{EchoBots: true, Delivery: "session", Socket: phoenix.Config{MessageRate: -1}}})
	u, err := a.Hub.CreateUser(context.Background(), core.User{Kind: core.KindBot, Name: "bot", Data: map[string]any{core.DataWSTokenHash: hub.HashSecret("tok")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return mustURL(t, "ws://"+a.Addr()+"/socket"), u.ID
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func testOptions(u *url.URL, bot string, out *bytes.Buffer) options {
	return options{
		url: u.String(), bot: bot, token: "tok", mode: "rtt",
		conns: 3, perConn: 2, sources: 2, dialWorkers: 2, loops: 2,
		duration: time.Second, warmup: 200 * time.Millisecond, timeout: 5 * time.Second,
		settle: 100 * time.Millisecond, hold: 100 * time.Millisecond, out: out,
	}
}

// Round trips through a real server's echo bot complete, closed loop and at
// an interval, on connections with several sessions and more than one event
// loop, and are reported in the lines scripts parse.
func TestRoundTripsThroughTheEchoBot(t *testing.T) {
	u, bot := startServer(t)
	for _, interval := range []time.Duration{0, 100 * time.Millisecond} {
		t.Run(fmt.Sprint("interval ", interval), func(t *testing.T) {
			var out bytes.Buffer
			o := testOptions(u, bot, &out)
			o.interval = interval
			if err := run(o); err != nil {
				t.Fatalf("%v\n%s", err, &out)
			}
			lines := regexp.MustCompile(`(?m)^round trips (\d+): (\d+)/s   latency p50 \S+  p90 \S+  p99 \S+  max \S+   timeouts (\d+)$`).FindStringSubmatch(out.String())
			if lines == nil {
				t.Fatalf("no round trips line in\n%s", &out)
			}
			n, _ := strconv.Atoi(lines[1])
			if n == 0 || lines[3] != "0" {
				t.Errorf("%d round trips, %s timeouts; want some, none:\n%s", n, lines[3], &out)
			}
			if interval > 0 {
				// Each session sends once per interval: at most the measured
				// second's worth, plus one in flight at each end.
				if most := 6 * (int(o.duration/interval) + 2); n > most {
					t.Errorf("%d round trips at %d/s for %v; want at most %d", n, int(6*time.Second/interval), o.duration, most)
				}
			}
			for _, want := range []string{"opened 3 connections, 6 sessions in ", "6 sessions on 3 connections, ", "swload CPU "} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, &out)
				}
			}
		})
	}
}

// Idle mode opens and joins its connections and reports the server's memory.
func TestIdleHoldsJoinedConnections(t *testing.T) {
	u, bot := startServer(t)
	var out bytes.Buffer
	o := testOptions(u, bot, &out)
	o.mode = "idle"
	if err := run(o); err != nil {
		t.Fatalf("%v\n%s", err, &out)
	}
	for _, want := range []string{"opened 3 connections, 6 sessions", "KiB per idle joined connection", "server goroutines"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
}

// fakeServer speaks just enough Phoenix to be loaded: it answers odd
// messages only (the even ones must time out), answers every third
// fragmented, pings each connection once it is loaded and expects the pong,
// and closes connections after their 30th message.
type fakeServer struct {
	pongs, closes atomic.Int64
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil) // refuses unmasked client frames
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ctx := r.Context()
	var sessions int
	write := func(frame ...any) error {
		b, _ := json.Marshal(frame)
		return ws.Write(ctx, websocket.MessageText, b)
	}
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		var fr [5]json.RawMessage
		if json.Unmarshal(data, &fr) != nil {
			return
		}
		var ref, topic, event string
		_ = json.Unmarshal(fr[1], &ref)
		_ = json.Unmarshal(fr[2], &topic)
		_ = json.Unmarshal(fr[3], &event)
		switch event {
		case "phx_join":
			err = write("1", ref, topic, "phx_reply", map[string]any{"status": "ok", "response": map[string]any{}})
		case "new_session":
			sessions++
			err = write("1", ref, topic, "phx_reply", map[string]any{"status": "ok", "response": map[string]any{"session": fmt.Sprint("s", sessions)}})
		case "utb_msg":
			var p struct{ Session, Text string }
			_ = json.Unmarshal(fr[4], &p)
			n, _ := strconv.Atoi(strings.TrimPrefix(p.Text, "m"))
			switch {
			case n == 2:
				go func() {
					if ws.Ping(ctx) == nil {
						f.pongs.Add(1)
					}
				}()
			case n == 30:
				f.closes.Add(1)
				_ = ws.Close(websocket.StatusGoingAway, "bye")
				return
			}
			if n%2 == 0 {
				continue
			}
			b, _ := json.Marshal([]any{nil, nil, topic, "btu_msg", map[string]any{"session": p.Session, "text": p.Text, "seq": n, "from": "bot"}})
			if n%3 == 0 {
				mw, err := ws.Writer(ctx, websocket.MessageText)
				if err != nil {
					return
				}
				_, _ = mw.Write(b[:10])
				_, _ = mw.Write(b[10:])
				err = mw.Close()
			} else {
				err = ws.Write(ctx, websocket.MessageText, b)
			}
		}
		if err != nil {
			return
		}
	}
}

// Unanswered messages are counted as timeouts and the session moves on;
// answers in fragments count; pings are answered; a connection the server
// closes ends its sessions without stopping the run.
func TestTimeoutsPingsFragmentsAndCloses(t *testing.T) {
	var f fakeServer
	srv := httptest.NewServer(http.StripPrefix("/socket", &f))
	defer srv.Close()
	var out bytes.Buffer
	o := testOptions(mustURL(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/socket"), "b", &out)
	o.conns, o.perConn, o.timeout, o.warmup, o.duration = 2, 1, 50*time.Millisecond, 0, time.Minute // until the server closes them
	r, err := measure(context.Background(), o, mustURL(t, o.url))
	if err != nil {
		t.Fatalf("%v\n%s", err, &out)
	}
	// Each session: m1…m30 sent, the 15 odd ones answered, the 14 even
	// ones time out, and so does m30, on which the server closes.
	if len(r.lat) != 2*15 || r.timeouts != 2*15 {
		t.Errorf("%d round trips, %d timeouts; want %d, %d", len(r.lat), r.timeouts, 2*15, 2*15)
	}
	if f.pongs.Load() != 2 || f.closes.Load() != 2 {
		t.Errorf("%d pongs, %d closes; want 2, 2", f.pongs.Load(), f.closes.Load())
	}
}
