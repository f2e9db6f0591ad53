package app

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"switchboard/internal/api/respond"
)

// routes mounts every endpoint on the mux. Surfaces add theirs here.
func (a *App) routes() {
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	a.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.Store.Ping(ctx); err != nil {
			a.log.Warn("readiness check failed", "err", err)
			respond.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "store unreachable"})
			return
		}
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	a.mux.Handle("GET /metrics", a.Metrics.Handler())
}

// instrument wraps h with panic recovery, the body limit, request metrics
// and a debug log line per request.
func (a *App) instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		if r.Body != nil && r.ContentLength != 0 {
			r.Body = http.MaxBytesReader(rec, r.Body, a.bodyLimit(r))
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", p)
				if !rec.wrote {
					respond.JSON(rec, http.StatusInternalServerError, map[string]string{"error": "internal error"})
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			a.Metrics.HTTPRequests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
			a.Metrics.HTTPDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
			a.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.code, "duration", time.Since(start))
		}()
		h.ServeHTTP(rec, r)
	})
}

// bodyLimit is the request body limit for a request: the JSON limit, or the
// limit set for an upload path with LimitBody.
func (a *App) bodyLimit(r *http.Request) int64 {
	for _, l := range a.bodyLimits {
		if strings.HasPrefix(r.URL.Path, l.prefix) {
			return l.limit
		}
	}
	return a.cfg.MaxBodyBytes
}

type bodyLimit struct {
	prefix string
	limit  int64
}

// LimitBody sets the body limit of requests whose path starts with prefix
// (uploads); call it while wiring, before Start.
func (a *App) LimitBody(prefix string, limit int64) {
	a.bodyLimits = append(a.bodyLimits, bodyLimit{prefix, limit})
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer
// (websocket hijacking, flushing for long-poll).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
