package webhook

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"switchboard/internal/store"
)

// retryable reports whether an attempt that got status (0: no response)
// should be tried again: network errors, 408, 429 and 5xx are; other
// answers (3xx since redirects are not followed, 4xx) are final.
func retryable(status int) bool {
	return status == 0 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// maxRetryAfter bounds how far a receiver's Retry-After can push a retry.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d < 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}

// decide returns a delivery's status after attempt n (counted from the
// last replay: n = attempts - replay_base), and when a retry is due.
func (e *Engine) decide(n, status int, retryAfter time.Duration, now time.Time) (string, time.Time, string) {
	switch {
	case status >= 200 && status < 300:
		return store.DeliveryDelivered, time.Time{}, OutcomeDelivered
	case !retryable(status):
		return store.DeliveryFailed, time.Time{}, OutcomeFailed
	case n > len(e.opts.RetrySchedule):
		return store.DeliveryDead, time.Time{}, OutcomeDead
	}
	wait := e.opts.RetrySchedule[n-1]
	if j := e.opts.Jitter; j > 0 {
		wait = time.Duration(float64(wait) * (1 + j*(2*rand.Float64()-1)))
	}
	wait = max(wait, retryAfter)
	return store.DeliveryPending, now.Add(wait), OutcomeRetry
}
