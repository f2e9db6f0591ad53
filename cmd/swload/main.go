// Command swload is Switchboard's load tool for the AIDA chatbot websocket.
// It opens sessions against a running `switchboard serve` on this machine
// (127.0.0.0/8 only) and either holds them idle to measure the server's
// memory per connection, or drives round trips through a bot that echoes
// (serve -echo-bots) to measure throughput and latency. It stops by itself.
//
//	swload -mode idle -conns 5000 -bot ID -token T
//	swload -mode rtt -conns 1000 -duration 30s -bot ID -token T
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	url         string
	bot, token  string
	mode        string
	conns       int
	perConn     int
	sources     int
	duration    time.Duration
	warmup      time.Duration
	hold        time.Duration
	dialWorkers int
	interval    time.Duration
	settle      time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "ws://127.0.0.1:8080/socket", "the server's socket URL (must be on 127.0.0.0/8)")
	flag.StringVar(&o.bot, "bot", "", "bot id (switchboard bot create -ws-token …)")
	flag.StringVar(&o.token, "token", "", "the bot's websocket access token")
	flag.StringVar(&o.mode, "mode", "rtt", "idle (memory per idle joined connection) or rtt (round trips through an echo bot)")
	flag.IntVar(&o.conns, "conns", 1000, "websocket connections, each joined to bot:<id>")
	flag.IntVar(&o.perConn, "sessions-per-conn", 1, "sessions opened on each connection")
	flag.IntVar(&o.sources, "sources", 16, "spread connections over this many source addresses 127.0.0.2, 127.0.0.3, …")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "rtt: how long to measure")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "rtt: round trips before measuring (not counted)")
	flag.DurationVar(&o.settle, "settle", 10*time.Second, "idle: wait this long after opening before measuring")
	flag.DurationVar(&o.hold, "hold", 10*time.Second, "idle: how long connections stay open after the measurement")
	flag.IntVar(&o.dialWorkers, "dial-workers", 64, "connections opened in parallel")
	flag.DurationVar(&o.interval, "interval", 0, "rtt: each session sends one message per interval (0: the next as soon as the answer arrives, i.e. saturation)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "swload:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.bot == "" || o.token == "" {
		return errors.New("-bot and -token are required")
	}
	if o.conns <= 0 || o.perConn <= 0 || o.sources <= 0 || o.sources > 250 {
		return errors.New("-conns and -sessions-per-conn must be positive, -sources 1…250")
	}
	u, err := url.Parse(o.url)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return fmt.Errorf("-url must name a 127.0.0.0/8 address, not %q: this tool only loads the local machine", u.Hostname())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch o.mode {
	case "idle":
		return idle(ctx, o, u)
	case "rtt":
		return rtt(ctx, o)
	}
	return fmt.Errorf("unknown -mode %q", o.mode)
}

// session is one open session with its btu_msg inbox.
type session struct {
	c   *conn
	id  string
	btu chan string
}

// open dials o.conns connections from the source addresses, joins each and
// opens o.perConn sessions on each.
func open(ctx context.Context, o options) ([]*conn, []session, error) {
	conns := make([]*conn, o.conns)
	sessions := make([][]session, o.conns)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	start := time.Now()
	for w := 0; w < o.dialWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= o.conns || ctx.Err() != nil {
					return
				}
				src := net.IPv4(127, 0, 0, byte(2+i%o.sources))
				octx, cancel := context.WithTimeout(ctx, 30*time.Second)
				c, err := dial(octx, o.url, src)
				if err == nil {
					err = c.join(octx, o.bot, o.token)
				}
				for j := 0; err == nil && j < o.perConn; j++ {
					var s session
					s.c = c
					s.id, s.btu, err = c.newSession(octx)
					sessions[i] = append(sessions[i], s)
				}
				cancel()
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("connection %d: %w", i, err) })
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		closeAll(conns)
		return nil, nil, firstErr
	}
	fmt.Printf("opened %d connections, %d sessions in %v\n", o.conns, o.conns*o.perConn, time.Since(start).Round(time.Millisecond))
	return conns, slices.Concat(sessions...), nil
}

func closeAll(conns []*conn) {
	for _, c := range conns {
		if c != nil {
			c.close()
		}
	}
}

// heartbeats keeps connections alive past the server's idle timeout, as phoenix.js does.
func heartbeats(ctx context.Context, conns []*conn) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, c := range conns {
				_, _ = c.send(ctx, "phoenix", "heartbeat", map[string]any{}, false)
			}
		}
	}
}

// serverStats reads the server's resident memory, Go heap and goroutines from /metrics.
func serverStats(ctx context.Context, u *url.URL) (map[string]float64, error) {
	base := "http://" + u.Host
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	want := []string{"process_resident_memory_bytes", "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes", "go_goroutines", "process_open_fds"}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && slices.Contains(want, name) {
			out[name], _ = strconv.ParseFloat(value, 64)
		}
	}
	return out, sc.Err()
}

func idle(ctx context.Context, o options, u *url.URL) error {
	before, err := serverStats(ctx, u)
	if err != nil {
		return fmt.Errorf("server metrics: %w", err)
	}
	conns, _, err := open(ctx, o)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go heartbeats(hctx, conns)
	select { // let the server settle (GC, freed handshake buffers)
	case <-time.After(o.settle):
	case <-ctx.Done():
		return ctx.Err()
	}
	after, err := serverStats(ctx, u)
	if err != nil {
		return fmt.Errorf("server metrics: %w", err)
	}
	n := float64(o.conns)
	fmt.Printf("server RSS   %7.1f MiB → %7.1f MiB: %5.1f KiB per idle joined connection (with %d open session(s) each)\n",
		before["process_resident_memory_bytes"]/(1<<20), after["process_resident_memory_bytes"]/(1<<20),
		(after["process_resident_memory_bytes"]-before["process_resident_memory_bytes"])/n/1024, o.perConn)
	fmt.Printf("server heap  %7.1f MiB → %7.1f MiB: %5.1f KiB per connection\n",
		before["go_memstats_heap_inuse_bytes"]/(1<<20), after["go_memstats_heap_inuse_bytes"]/(1<<20),
		(after["go_memstats_heap_inuse_bytes"]-before["go_memstats_heap_inuse_bytes"])/n/1024)
	fmt.Printf("server stacks %7.1f MiB → %7.1f MiB: %5.1f KiB per connection\n",
		before["go_memstats_stack_inuse_bytes"]/(1<<20), after["go_memstats_stack_inuse_bytes"]/(1<<20),
		(after["go_memstats_stack_inuse_bytes"]-before["go_memstats_stack_inuse_bytes"])/n/1024)
	fmt.Printf("server goroutines %.0f → %.0f, open fds %.0f → %.0f\n",
		before["go_goroutines"], after["go_goroutines"], before["process_open_fds"], after["process_open_fds"])
	select {
	case <-time.After(o.hold):
	case <-ctx.Done():
	}
	return nil
}

func rtt(ctx context.Context, o options) error {
	conns, sessions, err := open(ctx, o)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	var measuring atomic.Bool
	var timeouts atomic.Int64
	lat := make([][]time.Duration, len(sessions))
	stopAt := time.Now().Add(o.warmup + o.duration)
	var measureStart time.Time
	go func() {
		time.Sleep(o.warmup)
		measureStart = time.Now()
		measuring.Store(true)
	}()
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := time.Now()
			if o.interval > 0 { // spread the sessions' first messages over one interval
				next = next.Add(time.Duration(i) * o.interval / time.Duration(len(sessions)))
			}
			var frame []byte
			timeout := time.NewTimer(time.Hour) // one per session, reset per message
			defer timeout.Stop()
			for n := 0; time.Now().Before(stopAt) && ctx.Err() == nil; n++ {
				if o.interval > 0 {
					time.Sleep(time.Until(next))
					next = next.Add(o.interval)
				}
				text := "m" + strconv.Itoa(n)
				t0 := time.Now()
				var err error
				if frame, err = s.c.utbMsg(frame, s.id, text); err != nil {
					return
				}
				timeout.Reset(5 * time.Second)
				select {
				case got := <-s.btu:
					if got != text {
						continue // an answer to an earlier, timed-out message
					}
				case <-timeout.C:
					timeouts.Add(1)
					continue
				case <-ctx.Done():
					return
				}
				if measuring.Load() {
					lat[i] = append(lat[i], time.Since(t0))
				}
			}
		}()
	}
	wg.Wait()
	if !measuring.Load() {
		return errors.New("stopped before the warm-up ended")
	}
	elapsed := time.Since(measureStart)
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return errors.New("no round trips completed")
	}
	slices.Sort(all)
	q := func(p float64) time.Duration { return all[min(len(all)-1, int(float64(len(all))*p))] }
	offered := "saturation (closed loop)"
	if o.interval > 0 {
		offered = fmt.Sprintf("offered %.0f/s", float64(len(sessions))/o.interval.Seconds())
	}
	fmt.Printf("%d sessions on %d connections, %s, %v measured after %v warm-up\n", len(sessions), len(conns), offered, o.duration, o.warmup)
	fmt.Printf("round trips %d: %.0f/s   latency p50 %v  p90 %v  p99 %v  max %v   timeouts %d\n",
		len(all), float64(len(all))/elapsed.Seconds(),
		q(0.50).Round(10*time.Microsecond), q(0.90).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), all[len(all)-1].Round(10*time.Microsecond), timeouts.Load())
	return nil
}
