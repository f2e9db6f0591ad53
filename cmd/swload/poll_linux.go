//go:build linux && !swload_portable

package main

import (
	"errors"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// On Linux a few event loops (-loops, default one) each wait on their own epoll
// instance for all their connections, and read and write the sockets with
// plain system calls: no goroutine per connection to wake, and one
// epoll_wait serves every connection that became readable meanwhile.

// loopCount is how many event loops share conns connections when want are asked for.
func loopCount(conns, want int) int { return max(1, min(conns, want)) }

// sock is a connection's socket, taken out of Go's poller.
type sock = *fdSock

type fdSock struct{ fd int }

// newSock takes nc's socket: a duplicate descriptor, non-blocking, and nc
// closed (which takes the original out of Go's poller).
func newSock(nc net.Conn) (sock, error) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil, errors.New("not a TCP connection")
	}
	f, err := tc.File()
	if err != nil {
		return nil, err
	}
	fd, err := unix.Dup(int(f.Fd()))
	_ = f.Close()
	_ = nc.Close()
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	return &fdSock{fd: fd}, nil
}

// read reads what is there: 0 and no error when nothing is.
func (s *fdSock) read(p []byte) (int, error) {
	for {
		n, err := unix.Read(s.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, nil
		case err != nil:
			return 0, err
		case n == 0:
			return 0, errors.New("connection closed by the server")
		}
		return n, nil
	}
}

// write writes all of p, waiting for room if the socket buffer is full.
func (s *fdSock) write(p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(s.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			fds := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLOUT}}
			if _, err := unix.Poll(fds, 5000); err != nil && err != unix.EINTR {
				return err
			}
			continue
		case err != nil:
			return err
		}
		p = p[n:]
	}
	return nil
}

func (s *fdSock) close() { _ = unix.Close(s.fd) }

// poller is one event loop's epoll instance.
type poller struct {
	epfd   int
	conns  []*conn
	events []unix.EpollEvent
}

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &poller{epfd: epfd, events: make([]unix.EpollEvent, 256)}, nil
}

// add watches c for reading (level-triggered: a connection not read to
// the end is reported again).
func (p *poller) add(c *conn) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(len(p.conns))}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, c.sock.fd, &ev); err != nil {
		return err
	}
	p.conns = append(p.conns, c)
	return nil
}

// remove stops watching c (before it is closed).
func (p *poller) remove(c *conn) {
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, c.sock.fd, nil)
}

// wait appends the connections that have something to read, waiting up
// to timeout (rounded up to a millisecond) for one.
func (p *poller) wait(ready []*conn, timeout time.Duration) ([]*conn, error) {
	ms := int((timeout + time.Millisecond - 1) / time.Millisecond)
	n, err := unix.EpollWait(p.epfd, p.events, max(ms, 0))
	if err == unix.EINTR {
		return ready, nil
	}
	if err != nil {
		return ready, err
	}
	for _, ev := range p.events[:n] {
		ready = append(ready, p.conns[ev.Fd])
	}
	return ready, nil
}

func (p *poller) close() { _ = unix.Close(p.epfd) }
