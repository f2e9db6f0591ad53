// Command swload is Switchboard's load tool for the AIDA chatbot websocket.
// It opens sessions against a running `switchboard serve` on this machine
// (127.0.0.0/8 only) and either holds them idle to measure the server's
// memory per connection, or drives round trips through a bot that echoes
// (serve -echo-bots) to measure throughput and latency. It stops by itself.
// It runs beside the server it measures, so its own CPU per round trip is
// kept small: after setup one event loop reads and writes every socket with
// plain system calls (loop.go, poll_linux.go), and it prints that CPU too.
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
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
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
	loops       int
	interval    time.Duration
	settle      time.Duration
	timeout     time.Duration // per message
	out         io.Writer
}

func main() {
	o := options{timeout: 5 * time.Second, out: os.Stdout}
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
	flag.IntVar(&o.loops, "loops", 1, "event loops (threads) that read and write all the connections (Linux; elsewhere one per connection)")
	flag.DurationVar(&o.interval, "interval", 0, "rtt: each session sends one message per interval (0: the next as soon as the answer arrives, i.e. saturation)")
	cpuprofile := flag.String("cpuprofile", "", "write the tool's own CPU profile to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "swload:", err)
			os.Exit(1)
		}
	}
	err := run(o)
	pprof.StopCPUProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "swload:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.bot == "" || o.token == "" {
		return errors.New("-bot and -token are required")
	}
	if o.conns <= 0 || o.perConn <= 0 || o.sources <= 0 || o.sources > 250 || o.loops <= 0 {
		return errors.New("-conns, -sessions-per-conn and -loops must be positive, -sources 1…250")
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
		return rtt(ctx, o, u)
	}
	return fmt.Errorf("unknown -mode %q", o.mode)
}

// open dials o.conns connections from the source addresses, joins each and
// opens o.perConn sessions on each, then hands them to event loops.
func open(ctx context.Context, o options, u *url.URL) ([]*conn, []*session, error) {
	conns := make([]*conn, o.conns)
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
				c, err := dial(octx, u, src)
				cancel()
				if err == nil {
					err = c.join(o.bot, o.token)
				}
				for j := 0; err == nil && j < o.perConn; j++ {
					_, err = c.newSession()
				}
				if err == nil {
					err = c.handoff()
				}
				if err != nil {
					if c != nil {
						c.close()
					}
					errOnce.Do(func() { firstErr = fmt.Errorf("connection %d: %w", i, err) })
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		closeAll(conns)
		return nil, nil, firstErr
	}
	fmt.Fprintf(o.out, "opened %d connections, %d sessions in %v\n", o.conns, o.conns*o.perConn, time.Since(start).Round(time.Millisecond))
	var sessions []*session
	for _, c := range conns {
		sessions = append(sessions, c.sessions...)
	}
	return conns, sessions, nil
}

func closeAll(conns []*conn) {
	for _, c := range conns {
		if c != nil {
			c.close()
		}
	}
}

// newLoops shares the connections out to event loops (loopCount of them).
func newLoops(conns []*conn, n int, stop *atomic.Bool) ([]*loop, error) {
	loops := make([]*loop, loopCount(len(conns), n))
	for i := range loops {
		p, err := newPoller()
		if err != nil {
			closeLoops(loops)
			return nil, err
		}
		loops[i] = &loop{p: p, stop: stop}
	}
	for i, c := range conns {
		if err := loops[i%len(loops)].add(c); err != nil {
			closeLoops(loops)
			return nil, err
		}
	}
	return loops, nil
}

func closeLoops(loops []*loop) {
	for _, l := range loops {
		if l != nil {
			l.p.close()
		}
	}
}

// runLoops runs f on every loop, each in a goroutine, until all return,
// and returns the first error.
func runLoops(loops []*loop, f func(*loop) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(loops))
	for i, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(l)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
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
	conns, _, err := open(ctx, o, u)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	var stop atomic.Bool
	loops, err := newLoops(conns, o.loops, &stop)
	if err != nil {
		return err
	}
	defer closeLoops(loops)
	// The loops answer pings and send heartbeats, as phoenix.js does, so
	// that connections outlive the server's idle timeout.
	done := make(chan struct{})
	var loopErr error
	go func() {
		defer close(done)
		loopErr = runLoops(loops, func(l *loop) error {
			l.heartbeat = 30 * time.Second
			l.stopAt = time.Now()
			return l.idle()
		})
	}()
	defer func() { stop.Store(true); <-done }()
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
	fmt.Fprintf(o.out, "server RSS   %7.1f MiB → %7.1f MiB: %5.1f KiB per idle joined connection (with %d open session(s) each)\n",
		before["process_resident_memory_bytes"]/(1<<20), after["process_resident_memory_bytes"]/(1<<20),
		(after["process_resident_memory_bytes"]-before["process_resident_memory_bytes"])/n/1024, o.perConn)
	fmt.Fprintf(o.out, "server heap  %7.1f MiB → %7.1f MiB: %5.1f KiB per connection\n",
		before["go_memstats_heap_inuse_bytes"]/(1<<20), after["go_memstats_heap_inuse_bytes"]/(1<<20),
		(after["go_memstats_heap_inuse_bytes"]-before["go_memstats_heap_inuse_bytes"])/n/1024)
	fmt.Fprintf(o.out, "server stacks %7.1f MiB → %7.1f MiB: %5.1f KiB per connection\n",
		before["go_memstats_stack_inuse_bytes"]/(1<<20), after["go_memstats_stack_inuse_bytes"]/(1<<20),
		(after["go_memstats_stack_inuse_bytes"]-before["go_memstats_stack_inuse_bytes"])/n/1024)
	fmt.Fprintf(o.out, "server goroutines %.0f → %.0f, open fds %.0f → %.0f\n",
		before["go_goroutines"], after["go_goroutines"], before["process_open_fds"], after["process_open_fds"])
	select {
	case <-time.After(o.hold):
	case <-ctx.Done():
	}
	stop.Store(true)
	<-done
	return loopErr
}

// result is what a rtt run measured.
type result struct {
	sessions, conns int
	lat             []time.Duration // sorted
	elapsed         time.Duration   // from the end of the warm-up to the last answer
	timeouts        int
	cpu             time.Duration // the tool's own, over elapsed; -1 if not known
}

func rtt(ctx context.Context, o options, u *url.URL) error {
	r, err := measure(ctx, o, u)
	if err != nil {
		return err
	}
	all := r.lat
	q := func(p float64) time.Duration { return all[min(len(all)-1, int(float64(len(all))*p))] }
	offered := "saturation (closed loop)"
	if o.interval > 0 {
		offered = fmt.Sprintf("offered %.0f/s", float64(r.sessions)/o.interval.Seconds())
	}
	fmt.Fprintf(o.out, "%d sessions on %d connections, %s, %v measured after %v warm-up\n", r.sessions, r.conns, offered, o.duration, o.warmup)
	fmt.Fprintf(o.out, "round trips %d: %.0f/s   latency p50 %v  p90 %v  p99 %v  max %v   timeouts %d\n",
		len(all), float64(len(all))/r.elapsed.Seconds(),
		q(0.50).Round(10*time.Microsecond), q(0.90).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), all[len(all)-1].Round(10*time.Microsecond), r.timeouts)
	if r.cpu >= 0 {
		fmt.Fprintf(o.out, "swload CPU %.1f µs per round trip (user+system, %.2f cores over the measured window)\n",
			float64(r.cpu.Nanoseconds())/1e3/float64(len(all)), r.cpu.Seconds()/r.elapsed.Seconds())
	}
	return nil
}

// measure opens the sessions and drives round trips through them: a warm-up,
// then o.duration measured.
func measure(ctx context.Context, o options, u *url.URL) (result, error) {
	conns, sessions, err := open(ctx, o, u)
	if err != nil {
		return result{}, err
	}
	defer closeAll(conns)
	var stop atomic.Bool
	defer context.AfterFunc(ctx, func() { stop.Store(true) })()
	loops, err := newLoops(conns, o.loops, &stop)
	if err != nil {
		return result{}, err
	}
	defer closeLoops(loops)
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	if o.interval > 0 { // spread the sessions' first messages over one interval
		for i, s := range sessions {
			s.next = start.Add(time.Duration(i) * o.interval / time.Duration(len(sessions)))
		}
	}
	var cpu0 atomic.Int64 // the tool's CPU time at measureFrom, -1 if not known
	cpu0.Store(-1)
	cpuTimer := time.AfterFunc(o.warmup, func() {
		if t, ok := cpuTime(); ok {
			cpu0.Store(int64(t))
		}
	})
	defer cpuTimer.Stop()
	err = runLoops(loops, func(l *loop) error {
		l.interval, l.timeout = o.interval, o.timeout
		l.measureFrom, l.stopAt = measureFrom, measureFrom.Add(o.duration)
		return l.rtt()
	})
	if err != nil {
		return result{}, err
	}
	end := time.Now()
	if end.Before(measureFrom) {
		return result{}, errors.New("stopped before the warm-up ended")
	}
	r := result{sessions: len(sessions), conns: len(conns), elapsed: end.Sub(measureFrom), cpu: -1}
	if t, ok := cpuTime(); ok && cpu0.Load() >= 0 {
		r.cpu = t - time.Duration(cpu0.Load())
	}
	for _, l := range loops {
		r.lat = append(r.lat, l.lat...)
		r.timeouts += l.timeouts
	}
	if len(r.lat) == 0 {
		return result{}, errors.New("no round trips completed")
	}
	slices.Sort(r.lat)
	return r, nil
}
