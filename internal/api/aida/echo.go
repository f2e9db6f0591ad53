package aida

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"switchboard/internal/core"
)

// Echo is a stand-in bot brain for tests and benchmarks (serve -echo-bots):
// every customer message in a bot's session is answered by the bot with the
// same text, and every image with "image:<id>". Answers are ordinary hub
// events, so they are persisted and reach clients as btu_msg like any
// real bot's. Real bots get their brains from later issues.
type Echo struct {
	s      *Surface
	seed   maphash.Seed
	queues []chan echoJob
	wg     sync.WaitGroup

	mu     sync.RWMutex
	closed bool
}

type echoJob struct {
	chatID string
	author string
	text   string
}

// echoQueue bounds the messages waiting per worker; beyond it answers are dropped.
const echoQueue = 4096

// NewEcho starts an echo brain with the given number of workers (a chat's
// messages always go to the same worker, so answers keep their order).
// Subscribe its OnChange to the bus and Close it on shutdown.
func NewEcho(s *Surface, workers int) *Echo {
	if workers <= 0 {
		workers = 64
	}
	e := &Echo{s: s, seed: maphash.MakeSeed(), queues: make([]chan echoJob, workers)}
	for i := range e.queues {
		q := make(chan echoJob, echoQueue)
		e.queues[i] = q
		e.wg.Add(1)
		go e.work(q)
	}
	return e
}

// OnChange queues an answer for each customer message; it never blocks.
func (e *Echo) OnChange(ch core.Change) {
	for _, ev := range ch.Events {
		if ev.AuthorID == "" || e.s.knownBot(ev.AuthorID) {
			continue
		}
		var text string
		switch {
		case ev.Type == core.EventMessage:
			text = ev.Text
		case ev.Type == core.EventFile && ev.File != nil:
			text = "image:" + ev.File.Name
		default:
			continue
		}
		if ss, ok := e.s.sessions.get(ch.ChatID); ok && ss.customer != ev.AuthorID {
			continue // the bot's or an agent's own message
		}
		e.enqueue(echoJob{chatID: ch.ChatID, author: ev.AuthorID, text: text})
	}
}

func (e *Echo) enqueue(j echoJob) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return
	}
	select {
	case e.queues[maphash.String(e.seed, j.chatID)%uint64(len(e.queues))] <- j:
	default:
		e.s.log.Warn("aida: echo queue full, answer dropped", "session", j.chatID)
	}
}

func (e *Echo) work(q chan echoJob) {
	defer e.wg.Done()
	for j := range q {
		if err := e.answer(j); err != nil {
			e.s.log.Warn("aida: echo answer failed", "session", j.chatID, "err", err)
		}
	}
}

func (e *Echo) answer(j echoJob) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ss, ok := e.s.sessions.get(j.chatID)
	if !ok {
		info, err := e.s.hub.Session(ctx, j.chatID)
		if err != nil {
			return fmt.Errorf("echo: session: %w", err)
		}
		if ss, ok = sessionOf(info); !ok || info.Deleted {
			return nil // not a bot session
		}
		e.s.sessions.put(j.chatID, ss)
	}
	if j.author != ss.customer {
		return nil
	}
	_, err := e.s.hub.SendEvent(ctx, j.chatID, core.Event{Type: core.EventMessage, AuthorID: ss.bot, Text: j.text})
	if core.IsCode(err, core.ENotFound) || core.IsCode(err, core.EForbidden) {
		return nil // the session was deleted meanwhile
	}
	return err
}

// Close stops taking messages and waits for queued answers (or ctx).
func (e *Echo) Close(ctx context.Context) error {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		for _, q := range e.queues {
			close(q)
		}
	}
	e.mu.Unlock()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("echo: close: %w", ctx.Err())
	}
}
