package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"switchboard/internal/core"
)

// Guard refuses webhook endpoints in loopback, link-local, private and other
// non-public ranges unless the operator allowed them. It is applied when a
// subscription is registered and again on every connection (DNS can change
// between the two).
type Guard struct {
	allow    []netip.Prefix
	deny     []netip.Prefix
	resolver *net.Resolver
}

// blocked are the ranges refused by default.
func blocked() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "64:ff9b::/96", "fc00::/7", "fe80::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// ParseCIDRs parses a comma-separated list of CIDRs (or bare addresses).
func ParseCIDRs(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("bad CIDR %q", f)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("bad CIDR %q", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// NewGuard returns a guard that lets the allow ranges through.
func NewGuard(allow []netip.Prefix) *Guard {
	return &Guard{allow: allow, deny: blocked(), resolver: net.DefaultResolver}
}

// Allowed reports whether connecting to addr is permitted.
func (g *Guard) Allowed(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range g.allow {
		if p.Contains(addr) {
			return true
		}
	}
	if !addr.IsValid() {
		return false
	}
	for _, p := range g.deny {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// CheckURL refuses a URL whose host is, or resolves to, a refused address.
// A name that does not resolve now is accepted: the connect-time check
// decides when it does.
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := checkURLSyntax(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if !g.Allowed(a) {
			return core.Errorf(core.EInvalid, "url host %s is in a private, loopback or link-local range", host)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := g.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if !g.Allowed(a) {
			return core.Errorf(core.EInvalid, "url host %s resolves to %s, in a private, loopback or link-local range", host, a.Unmap())
		}
	}
	return nil
}

// errBlocked is returned by the dialer for a refused address.
var errBlocked = errors.New("address refused by the webhook SSRF guard")

// control is a net.Dialer Control func: it runs after DNS resolution, on
// the address actually dialed.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", errBlocked, address)
	}
	if !g.Allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s", errBlocked, ap.Addr())
	}
	return nil
}
