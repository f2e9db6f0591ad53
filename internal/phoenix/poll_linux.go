//go:build linux

package phoenix

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// errWouldBlock reports a read that found nothing to read.
var errWouldBlock = unix.EAGAIN

// poller watches idle websockets with one epoll instance, so that an idle
// connection costs no goroutine: a connection is registered one-shot, and
// when it becomes readable the poller hands it to a frame worker, which
// rearms it when done (wsConn.readReady). Go's own poller keeps serving the
// same descriptors for writes.
type poller struct {
	epfd     int
	file     *os.File // epfd, waited on through Go's own poller; closing it stops the loop
	rc       syscall.RawConn
	dispatch func(*wsConn)

	mu      sync.Mutex
	conns   []*wsConn // by descriptor
	stopped bool
}

const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

func newPoller(dispatch func(*wsConn)) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("phoenix: epoll: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("phoenix: epoll: %w", err)
	}
	// An epoll descriptor is itself pollable: the loop parks in Go's
	// scheduler until it has events, instead of holding a thread in
	// epoll_wait (whose return would need a processor handed back to it).
	file := os.NewFile(uintptr(epfd), "phoenix-epoll")
	rc, err := file.SyscallConn()
	if err != nil {
		_ = file.Close()
		return nil, fmt.Errorf("phoenix: epoll: %w", err)
	}
	p := &poller{epfd: epfd, file: file, rc: rc, dispatch: dispatch}
	go p.loop()
	return p, nil
}

// add registers a connection, armed.
func (p *poller) add(t *wsConn) error {
	sc, ok := t.conn.(syscall.Conn)
	if !ok {
		return errors.New("phoenix: connection has no descriptor")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return errors.New("phoenix: poller stopped")
	}
	if fd >= len(p.conns) {
		p.conns = append(p.conns, make([]*wsConn, fd+1-len(p.conns)+len(p.conns)/4)...)
	}
	ev := unix.EpollEvent{Events: pollEvents, Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("phoenix: epoll add: %w", err)
	}
	p.conns[fd] = t
	t.fd, t.rc = fd, rc
	return nil
}

// rearm asks for the next readiness of a registered connection.
func (p *poller) rearm(t *wsConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped && t.fd < len(p.conns) && p.conns[t.fd] == t {
		ev := unix.EpollEvent{Events: pollEvents, Fd: int32(t.fd)}
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, t.fd, &ev)
	}
}

// remove forgets a connection; call it before closing the connection, so the
// descriptor is not reused while registered.
func (p *poller) remove(t *wsConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.fd < len(p.conns) && p.conns[t.fd] == t {
		p.conns[t.fd] = nil
		if !p.stopped {
			_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, t.fd, nil)
		}
	}
}

// stop ends the loop; connections still registered stay open but are no
// longer read (the server calls it once every socket is gone).
func (p *poller) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		p.stopped = true
		_ = p.file.Close() // the loop's wait returns an error
	}
}

func (p *poller) loop() {
	events := make([]unix.EpollEvent, 256)
	for {
		var n int
		var werr error
		err := p.rc.Read(func(fd uintptr) bool {
			n, werr = unix.EpollWait(int(fd), events, 0)
			if errors.Is(werr, unix.EINTR) {
				n, werr = 0, nil
			}
			return n > 0 || werr != nil // else wait until the descriptor is readable
		})
		if err != nil || werr != nil {
			return // stopped
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			p.mu.Lock()
			var t *wsConn
			if fd < len(p.conns) {
				t = p.conns[fd]
			}
			p.mu.Unlock()
			// Events can be stale (the connection is being read, or its
			// descriptor was reused): busy keeps a connection to one reader,
			// and a spurious read finds nothing and rearms.
			if t != nil && t.busy.CompareAndSwap(false, true) {
				p.dispatch(t)
			}
		}
	}
}

// readNow reads what the connection has without waiting.
func (t *wsConn) readNow(buf []byte) (int, error) {
	var n int
	var rerr error
	err := t.rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = unix.Read(int(fd), buf)
			if rerr != unix.EINTR {
				return true
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if n < 0 {
		n = 0
	}
	return n, rerr
}
