package botrun

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"switchboard/internal/brain"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/queue"
	"switchboard/internal/store"
)

// SessionKey is the chat data key holding the brain's session state.
const SessionKey = "sb_brain"

// queueLen bounds the messages waiting per worker; beyond it a message is
// not answered (and a warning is logged).
const queueLen = 4096

// Config configures a Runner.
type Config struct {
	Now     func() time.Time // the clock; time.Now when nil
	Workers int              // default 16; a chat's messages always go to the same worker
	Notify  *Notifier        // posts human_override notifications; nil: none are sent
}

// Runner answers customer messages with the brains of built-in bots.
type Runner struct {
	hub    *hub.Hub
	log    *slog.Logger
	now    func() time.Time
	brains *brains
	notify *Notifier

	seed   maphash.Seed
	queues []*queue.Queue[job] // grow as they fill, unlike channels of queueLen
	wg     sync.WaitGroup

	mu     sync.RWMutex
	closed bool

	anyBrain anyBrain

	done func(job) // tests: called after each message is handled
}

// anyBrain remembers whether any bot has a brain at all, so that where none
// does (chatbot sessions with external bots only) a customer message costs
// no reads. The answer is read again after noBrainTTL, like a bot seen
// without a brain (a brain given through another node takes effect within
// it), and at once after a brain is given through this node (Forget) or a
// user joins a chat on this node (a bot created with a brain joins its first
// chat that way).
type anyBrain struct {
	gen    atomic.Uint64 // bumped by whatever may make the answer stale
	mu     sync.Mutex
	loaded bool
	gotGen uint64 // gen when last read
	at     time.Time
	any    bool
}

type job struct {
	chatID   string
	threadID string
	author   string
	text     string
}

// New starts a runner's workers. Subscribe its OnChange to the bus (local
// changes only) and Close it on shutdown.
func New(h *hub.Hub, cfg Config, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	r := &Runner{hub: h, log: log, now: cfg.Now, brains: newBrains(h), notify: cfg.Notify,
		seed: maphash.MakeSeed(), queues: make([]*queue.Queue[job], cfg.Workers)}
	for i := range r.queues {
		q := queue.New[job](queueLen)
		r.queues[i] = q
		r.wg.Add(1)
		go r.work(q)
	}
	return r
}

// OnChange queues every text message for a look by its chat's worker,
// unless the runner already knows that no bot has a brain. It never blocks.
func (r *Runner) OnChange(ch core.Change) {
	switch ch.Kind {
	case core.ChangeChatStarted, core.ChangeUsersAdded, core.ChangeAssigned:
		r.anyBrain.gen.Add(1)
	}
	if ch.Remote {
		return // answered on the node that wrote it
	}
	var asked, brainless bool
	for _, e := range ch.Events {
		if e.Type != core.EventMessage || e.AuthorID == "" || e.Recipients == core.RecipientsAgents ||
			r.brains.isBrainBot(e.AuthorID) || r.brains.brainless(e.AuthorID) {
			continue // not a customer's text: bots' own answers need no look
		}
		j := job{chatID: ch.ChatID, threadID: e.ThreadID, author: e.AuthorID, text: e.Text}
		if !asked {
			asked, brainless = true, r.knownBrainless()
		}
		if brainless {
			// What answer would find first, known here without a queue,
			// a worker's wake-up and its timeout context.
			if r.done != nil {
				r.done(j)
			}
			continue
		}
		r.enqueue(j)
	}
}

func (r *Runner) enqueue(j job) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return
	}
	if !r.queues[maphash.String(r.seed, j.chatID)%uint64(len(r.queues))].Push(j) {
		r.log.Warn("botrun: queue full, message not answered", "chat", j.chatID)
	}
}

func (r *Runner) work(q *queue.Queue[job]) {
	defer r.wg.Done()
	for {
		j, ok := q.Pop()
		if !ok {
			return
		}
		if err := r.answer(j); err != nil {
			r.log.Warn("botrun: answer failed", "chat", j.chatID, "err", err)
		}
		if r.done != nil {
			r.done(j)
		}
	}
}

// Close stops taking messages and waits for the queued ones (or ctx).
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		for _, q := range r.queues {
			q.Close()
		}
	}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("botrun: close: %w", ctx.Err())
	}
}

// Forget drops a bot's cached manifest (after an update).
func (r *Runner) Forget(botID string) {
	r.brains.forget(botID)
	r.anyBrain.gen.Add(1)
}

// mayAnyHaveBrain reports whether some bot may have a brain (true when the
// store cannot tell).
func (r *Runner) mayAnyHaveBrain(ctx context.Context) bool {
	a := &r.anyBrain
	a.mu.Lock()
	defer a.mu.Unlock()
	gen := a.gen.Load()
	if a.loaded && a.gotGen == gen && time.Since(a.at) < noBrainTTL {
		return a.any
	}
	ids, err := r.hub.Store().Read().BotBrainIDs(ctx)
	if err != nil {
		a.loaded = false
		return true // the usual path reports the failure
	}
	a.loaded, a.gotGen, a.at, a.any = true, gen, time.Now(), len(ids) > 0
	return a.any
}

// knownBrainless reports, without reading the store, that no bot has a
// brain by the answer mayAnyHaveBrain would give from its cache.
func (r *Runner) knownBrainless() bool {
	a := &r.anyBrain
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.loaded && !a.any && a.gotGen == a.gen.Load() && time.Since(a.at) < noBrainTTL
}

// answer runs one customer message through the owning bot's brain.
func (r *Runner) answer(j job) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if !r.mayAnyHaveBrain(ctx) {
		return nil // no bot has a brain: nothing to look up
	}
	read := r.hub.Store().Read()
	members, err := read.ChatMembers(ctx, j.chatID)
	if err != nil {
		if core.IsCode(err, core.ENotFound) {
			return nil
		}
		return fmt.Errorf("botrun: members: %w", err)
	}
	if !isPresent(members, j.author, core.KindCustomer) || !r.mayHaveBrainBot(members) {
		return nil // only customers are answered, and only where a brain sits
	}
	chat, err := read.Chat(ctx, j.chatID)
	if core.IsCode(err, core.ENotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("botrun: chat: %w", err)
	}
	if chat.Deleted || chat.ActiveThreadID != j.threadID {
		return nil // gone, or the thread closed since: the conversation moved on
	}
	botID, m, row, err := r.owner(ctx, read, j.threadID, members)
	if err != nil || botID == "" {
		return err
	}
	var s brain.Session
	if raw, ok := chat.Data[SessionKey]; ok {
		b, err := json.Marshal(raw)
		if err == nil {
			err = json.Unmarshal(b, &s)
		}
		if err != nil {
			r.log.Warn("botrun: stored session unreadable, starting afresh", "chat", j.chatID, "err", err)
			s = brain.Session{}
		}
	}
	s.Vars = sessionVars(chat.Data)
	group := handoffGroup(row)
	in := brain.Input{Text: j.text, InHours: r.inHours(ctx, m, group)}
	out := m.Reply(&s, in, r.now())
	s.Vars = nil // recomputed from the chat data on every message
	state, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("botrun: encode session: %w", err)
	}
	if _, err := r.hub.BotReply(ctx, j.chatID, botID, out.Messages, map[string]any{SessionKey: json.RawMessage(state)}); err != nil {
		if core.IsCode(err, core.ENotFound) || core.IsCode(err, core.EForbidden) {
			return nil // deleted, or the bot left meanwhile
		}
		return fmt.Errorf("botrun: reply: %w", err)
	}
	if out.Handoff != nil {
		res, err := r.hub.BotHandoff(ctx, j.chatID, botID, group)
		if err != nil {
			return fmt.Errorf("botrun: handoff to group %d: %w", group, err)
		}
		r.log.Info("bot handed a chat to humans", "bot", botID, "chat", j.chatID, "group", group, "agent", res.AgentID, "queued", res.Queued)
	}
	if out.Notification != nil && m.NotificationsURL != "" && r.notify != nil {
		n := *out.Notification
		n.Data.BotID, n.Data.SessionID = botID, j.chatID
		r.notify.Send(m.NotificationsURL, n)
	}
	return nil
}

// mayHaveBrainBot reports whether a present bot is not known to lack a brain.
func (r *Runner) mayHaveBrainBot(members []store.ChatMember) bool {
	for _, m := range members {
		if m.Present() && m.Kind == core.KindBot && !r.brains.brainless(m.UserID) {
			return true
		}
	}
	return false
}

// owner picks the bot that answers in a thread, or "" for silence (see the
// package doc).
func (r *Runner) owner(ctx context.Context, read store.Conn, threadID string, members []store.ChatMember) (string, *brain.Manifest, store.BotBrain, error) {
	a, err := read.ActiveAssignment(ctx, threadID)
	switch {
	case err == nil:
		if !isPresent(members, a.AgentID, core.KindBot) {
			return "", nil, store.BotBrain{}, nil // a human (or a bot that left) owns it
		}
		m, row, ok, err := r.brains.get(ctx, a.AgentID)
		if err != nil || !ok {
			return "", nil, store.BotBrain{}, err // an external bot owns it
		}
		return a.AgentID, m, row, nil
	case !core.IsCode(err, core.ENotFound):
		return "", nil, store.BotBrain{}, fmt.Errorf("botrun: assignment: %w", err)
	}
	if _, _, err := read.QueuePosition(ctx, threadID); err == nil {
		return "", nil, store.BotBrain{}, nil // waiting for a human
	} else if !core.IsCode(err, core.ENotFound) {
		return "", nil, store.BotBrain{}, fmt.Errorf("botrun: queue: %w", err)
	}
	for _, mb := range members {
		if !mb.Present() || mb.Kind != core.KindBot {
			continue
		}
		m, row, ok, err := r.brains.get(ctx, mb.UserID)
		if err != nil {
			return "", nil, store.BotBrain{}, err
		}
		if ok {
			return mb.UserID, m, row, nil
		}
	}
	return "", nil, store.BotBrain{}, nil
}

// inHours decides human_override's in-hours question from the handoff
// group's business-hours calendar (its project and country), when it has
// one; nil leaves it to the skill's own in_hours schedule.
func (r *Runner) inHours(ctx context.Context, m *brain.Manifest, groupID int64) *bool {
	hasOverride := false
	for _, sk := range m.Skills {
		hasOverride = hasOverride || sk.Type == brain.HumanOverride
	}
	if !hasOverride {
		return nil
	}
	g, err := r.hub.Store().Read().Group(ctx, groupID)
	if err != nil || g.Project == "" || g.Country == "" {
		return nil
	}
	cal, err := r.hub.Calendar(ctx, g.Project, g.Country)
	if err != nil {
		if !core.IsCode(err, core.ENotFound) {
			r.log.Warn("botrun: handoff group calendar", "group", groupID, "err", err)
		}
		return nil
	}
	open := cal.IsOpen(r.now())
	return &open
}

// handoffGroup is where a bot's handoffs go: its own setting, else group 0.
func handoffGroup(row store.BotBrain) int64 {
	if row.HandoffGroup < 0 {
		return core.DefaultGroupID
	}
	return row.HandoffGroup
}

// sessionVars exposes the chat's data (AIDA put_data, mediator results) to
// the brain: every top-level string, number or boolean, by its key.
func sessionVars(data map[string]any) map[string]string {
	vars := map[string]string{}
	for k, v := range data {
		if k == SessionKey {
			continue
		}
		switch x := v.(type) {
		case string:
			vars[k] = x
		case float64:
			vars[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case json.Number:
			vars[k] = x.String()
		case bool:
			vars[k] = strconv.FormatBool(x)
		}
	}
	return vars
}

func isPresent(members []store.ChatMember, userID string, kind core.UserKind) bool {
	for _, m := range members {
		if m.UserID == userID {
			return m.Present() && m.Kind == kind
		}
	}
	return false
}
