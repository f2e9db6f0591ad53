//go:build linux

package phoenix

import (
	"errors"
	"fmt"
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
	wake     int // an eventfd: writing to it stops the loop
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
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("phoenix: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		_ = unix.Close(epfd)
		_ = unix.Close(wake)
		return nil, fmt.Errorf("phoenix: epoll: %w", err)
	}
	p := &poller{epfd: epfd, wake: wake, dispatch: dispatch}
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
	if t.fd < len(p.conns) && p.conns[t.fd] == t {
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
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, t.fd, nil)
	}
}

// stop ends the loop; connections still registered stay open but are no
// longer read (the server calls it once every socket is gone).
func (p *poller) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		p.stopped = true
		_, _ = unix.Write(p.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	}
}

func (p *poller) loop() {
	defer func() {
		_ = unix.Close(p.epfd)
		_ = unix.Close(p.wake)
	}()
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == p.wake {
				return
			}
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
