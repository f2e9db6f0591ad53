package phoenix

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// sockCtx is a Socket's context, cancelled when the socket closes. It does
// what context.WithCancel(context.Background()) does for this one use, but
// keeps nothing once the contexts derived from it are done: a cancelCtx
// keeps the map of its children (database queries derive one each) for the
// socket's life, a few hundred bytes on every idle connection. Derived
// contexts register through AfterFunc, which the context package uses for
// parents that are not its own type.
type sockCtx struct {
	done  atomic.Pointer[chan struct{}] // made on first use
	mu    sync.Mutex
	err   error
	funcs []*ctxFunc // pending AfterFunc calls; nil when none
}

type ctxFunc struct{ f func() }

// closedDone is the Done channel of a context cancelled before anyone asked for it.
var closedDone = func() *chan struct{} { c := make(chan struct{}); close(c); return &c }()

func (c *sockCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *sockCtx) Value(any) any               { return nil }

func (c *sockCtx) Done() <-chan struct{} {
	if d := c.done.Load(); d != nil {
		return *d
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.done.Load(); d != nil {
		return *d
	}
	d := make(chan struct{})
	c.done.Store(&d)
	return d
}

func (c *sockCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AfterFunc arranges to call f in its own goroutine once the context is
// cancelled, as context.AfterFunc does; stop cancels that.
func (c *sockCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	e := &ctxFunc{f: f}
	c.funcs = append(c.funcs, e)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.funcs {
			if x == e {
				last := len(c.funcs) - 1
				c.funcs[i], c.funcs[last] = c.funcs[last], nil
				c.funcs = c.funcs[:last]
				if last == 0 {
					c.funcs = nil // an idle socket keeps no slice
				}
				return true
			}
		}
		return false
	}
}

func (c *sockCtx) cancel() {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = context.Canceled
	if d := c.done.Load(); d != nil {
		close(*d)
	} else {
		c.done.Store(closedDone)
	}
	funcs := c.funcs
	c.funcs = nil
	c.mu.Unlock()
	for _, e := range funcs {
		go e.f()
	}
}
