package webhook_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
	"switchboard/internal/webhook"
)

// benchConcurrency is the number of requests at once, for the engine (per
// endpoint: the receiver is one host) and for the plain-POST ceiling alike.
const benchConcurrency = 32

// benchBody is the size of a typical chat.io incoming_event delivery.
var benchBody = bytes.Repeat([]byte("x"), 300)

// countingReceiver answers 200 and counts requests.
func countingReceiver(b *testing.B) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(srv.Close)
	return srv, &n
}

// BenchmarkPlainPOST is the ceiling: HTTP POSTs of a delivery-sized body
// from benchConcurrency goroutines of this process to the same kind of
// local receiver, with no database.
func BenchmarkPlainPOST(b *testing.B) {
	srv, _ := countingReceiver(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchConcurrency}}
	var next atomic.Int64
	b.ResetTimer()
	cpu0 := cpuTime()
	var wg sync.WaitGroup
	for w := 0; w < benchConcurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(benchBody))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/post")
}

// BenchmarkDeliver measures the dispatcher: b.N deliveries already in the
// outbox are claimed, signed, POSTed to a local receiver and recorded.
// "ordered" spreads them over 100 chats of an ordered subscription (one in
// flight per chat); "unordered" has no ordering key.
func BenchmarkDeliver(b *testing.B) {
	for _, e := range storetest.Engines() {
		for _, ordered := range []bool{false, true} {
			name := e.Name + "/unordered"
			if ordered {
				name = e.Name + "/ordered"
			}
			b.Run(name, func(b *testing.B) {
				st, _ := e.Open(b)
				srv, got := countingReceiver(b)
				opts := testOptions(st)
				opts.Workers, opts.PerEndpoint = benchConcurrency, benchConcurrency
				opts.Timeout = 10 * time.Second
				eng, err := webhook.New(context.Background(), opts)
				if err != nil {
					b.Fatal(err)
				}
				sub, err := eng.CreateSubscription(context.Background(), webhook.Subscription{URL: srv.URL, Scheme: webhook.SchemeChatio,
					Secret: "JSauw0Aks8l-asAa", Actions: []webhook.Action{{Name: "incoming_event"}}, Ordered: ordered})
				if err != nil {
					b.Fatal(err)
				}
				payload := map[string]any{"chat_id": "c", "event": map[string]any{"text": string(benchBody[:200])}}
				for done := 0; done < b.N; {
					err := st.Tx(context.Background(), func(c store.Conn) error {
						for i := 0; i < 500 && done < b.N; i++ {
							chat := ""
							if ordered {
								chat = "chat-" + strconv.Itoa(done%100)
							}
							if _, err := eng.Enqueue(context.Background(), c, webhook.Delivery{SubscriptionID: sub.ID, Action: "incoming_event", Payload: payload, ChatID: chat}); err != nil {
								return err
							}
							done++
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				cpu0, pg0 := cpuTime(), postgresCPU()
				eng.Start()
				for got.Load() < int64(b.N) {
					time.Sleep(time.Millisecond)
				}
				// Every outcome recorded, too. (Counted every 5 ms: the
				// count reads the queue's index, and asked for every
				// millisecond it took a share of the database's CPU
				// from the run it measures.)
				for {
					n, _, err := st.Read().WebhookQueueStats(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					if n == 0 {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/delivery")
				if e.Name == "postgres" {
					b.ReportMetric(float64(postgresCPUSince(pg0).Microseconds())/float64(b.N), "pg-cpu-µs/delivery")
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = eng.Stop(ctx)
			})
		}
	}
}

// cpuTime is this process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postgresCPU is the user+system CPU time so far of each PostgreSQL server
// process on this machine (Linux /proc; empty elsewhere), by pid, so a
// benchmark on the same machine can count the database's share of the
// work (all of the server's work: meaningful while nothing else uses it).
func postgresCPU() map[int]time.Duration {
	out := map[int]time.Duration{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... field 14 utime, 15 stime.
		open, closing := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || closing < open || string(stat[open+1:closing]) != "postgres" {
			continue
		}
		f := strings.Fields(string(stat[closing+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(u+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
	}
	return out
}

// postgresCPUSince is the PostgreSQL server's CPU time since before (a
// process that exited in between is not counted; one that started is).
func postgresCPUSince(before map[int]time.Duration) time.Duration {
	var total time.Duration
	for pid, t := range postgresCPU() {
		total += t - before[pid]
	}
	return total
}

// BenchmarkEnqueueHook measures what the outbox adds to a hub call: one
// event appended with one matching subscription (one delivery row).
func BenchmarkEnqueueHook(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			st, _ := e.Open(b)
			s := newSetupB(b, st)
			if _, err := s.eng.CreateSubscription(context.Background(), webhook.Subscription{URL: "http://127.0.0.1:9/", Scheme: webhook.SchemeChatio,
				Secret: "k", Actions: []webhook.Action{{Name: "incoming_event"}}}); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			u, _ := s.hub.CreateUser(ctx, core.User{Kind: core.KindCustomer}, nil)
			ch, _, _, err := s.hub.StartChat(ctx, hubStart(u.ID))
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.hub.SendEvent(ctx, ch.ID, core.Event{AuthorID: u.ID, Text: "hello"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}
