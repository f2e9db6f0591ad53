//go:build !linux

package phoenix

import "errors"

// errWouldBlock is never returned where there is no poller.
var errWouldBlock = errors.New("phoenix: would block")

// poller is Linux-only; elsewhere every websocket has a reader goroutine.
type poller struct{}

func newPoller(func(*wsConn)) (*poller, error) {
	return nil, errors.New("phoenix: no poller on this system")
}

func (*poller) add(*wsConn) error { return errors.New("phoenix: no poller on this system") }
func (*poller) rearm(*wsConn)     {}
func (*poller) remove(*wsConn)    {}
func (*poller) stop()             {}

func (t *wsConn) readNow([]byte) (int, error) { return 0, errWouldBlock }
