//go:build !linux || swload_portable

package main

import (
	"errors"
	"net"
	"os"
	"time"
)

// Elsewhere each connection has an event loop of its own, which waits by
// reading with a deadline: a goroutine per connection, as simple as it gets.
// (Build with -tags swload_portable to try it on Linux.)

// loopCount is how many event loops share conns connections: here one
// each, whatever -loops says.
func loopCount(conns, want int) int { return max(1, conns) }

type sock = *netSock

type netSock struct{ nc net.Conn }

func newSock(nc net.Conn) (sock, error) { return &netSock{nc: nc}, nil }

// read reads what comes before the deadline wait set: 0 and no error when
// nothing does.
func (s *netSock) read(p []byte) (int, error) {
	n, err := s.nc.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, nil
	}
	return n, err
}

func (s *netSock) write(p []byte) error {
	_, err := s.nc.Write(p)
	return err
}

func (s *netSock) close() { _ = s.nc.Close() }

// poller is one event loop's single connection.
type poller struct{ c *conn }

func newPoller() (*poller, error) { return &poller{}, nil }

func (p *poller) add(c *conn) error {
	if p.c != nil {
		return errors.New("one connection per event loop here")
	}
	p.c = c
	return nil
}

func (p *poller) remove(c *conn) {}

// wait reports the connection as ready, its next read bounded by timeout.
func (p *poller) wait(ready []*conn, timeout time.Duration) ([]*conn, error) {
	if p.c == nil || p.c.dead {
		time.Sleep(timeout)
		return ready, nil
	}
	_ = p.c.sock.nc.SetReadDeadline(time.Now().Add(max(timeout, 100*time.Microsecond)))
	return append(ready, p.c), nil
}

func (p *poller) close() {}
