package botrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"switchboard/internal/brain"
)

// Notifier posts a manifest's notifications ({type, data}) to its
// notifications_url: one plain HTTP POST with a timeout, no retries, from a
// small pool of senders, so the runner never waits on a receiver. (The
// webhook engine's outbox needs a subscription per receiver; a
// notifications_url is a manifest field, so it is posted directly.)
type Notifier struct {
	client *http.Client
	log    *slog.Logger
	queue  chan notification
	wg     sync.WaitGroup

	mu     sync.RWMutex
	closed bool
}

type notification struct {
	url  string
	body brain.Notification
}

// NotifierConfig configures a Notifier.
type NotifierConfig struct {
	Timeout time.Duration // per request; default 5s
	Senders int           // requests at once; default 4
	// Allowed, when set, is asked for every address dialled (the webhook
	// engine's SSRF guard); refused addresses fail the request.
	Allowed func(netip.Addr) bool
}

// NewNotifier starts a notifier's senders; Close stops them.
func NewNotifier(cfg NotifierConfig, log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Senders <= 0 {
		cfg.Senders = 4
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout}
	if cfg.Allowed != nil {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("botrun: notification address %q: %w", address, err)
			}
			if !cfg.Allowed(ap.Addr().Unmap()) {
				return fmt.Errorf("botrun: notification address %s is not allowed", ap.Addr())
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: dialer.DialContext, Proxy: nil, MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second}
	n := &Notifier{
		client: &http.Client{Timeout: cfg.Timeout, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		log:    log,
		queue:  make(chan notification, 1024),
	}
	for range cfg.Senders {
		n.wg.Add(1)
		go n.run()
	}
	return n
}

// Send queues a notification; it never blocks (a full queue drops it).
func (n *Notifier) Send(url string, body brain.Notification) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		return
	}
	select {
	case n.queue <- notification{url: url, body: body}:
	default:
		n.log.Warn("botrun: notification queue full, notification dropped", "type", body.Type)
	}
}

func (n *Notifier) run() {
	defer n.wg.Done()
	for x := range n.queue {
		if err := n.post(x); err != nil {
			n.log.Warn("botrun: notification not delivered", "type", x.body.Type, "bot", x.body.Data.BotID, "err", err)
		}
	}
}

func (n *Notifier) post(x notification) error {
	b, err := json.Marshal(x.body)
	if err != nil {
		return fmt.Errorf("botrun: encode notification: %w", err)
	}
	req, err := http.NewRequest(http.MethodPost, x.url, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("botrun: notification request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchboard-Bot-Notifications")
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("botrun: post notification: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("botrun: notification answered %s", resp.Status)
	}
	return nil
}

// Close stops taking notifications and waits for the queued ones (or ctx).
func (n *Notifier) Close(ctx context.Context) error {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.queue)
	}
	n.mu.Unlock()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("botrun: close notifier: %w", ctx.Err())
	}
}
