// Package metrics holds Switchboard's Prometheus collectors on a private
// registry (no global registration, so tests can build many apps).
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the set of collectors one app exports.
type Metrics struct {
	Registry *prometheus.Registry

	HTTPRequests   *prometheus.CounterVec   // route, code
	HTTPDuration   *prometheus.HistogramVec // route
	EventsAppended prometheus.Counter
	GroupCommit    prometheus.Histogram   // calls per SQLite group commit
	Connections    *prometheus.GaugeVec   // transport
	Disconnects    *prometheus.CounterVec // transport, reason
}

// New builds the collectors and registers them with Go and process metrics.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_http_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		EventsAppended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_events_appended_total", Help: "Chat events appended to the log.",
		}),
		GroupCommit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "switchboard_group_commit_calls", Help: "Hub calls committed per SQLite transaction (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		Connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_socket_connections", Help: "Open Phoenix socket connections by transport.",
		}, []string{"transport"}),
		Disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_socket_disconnects_total", Help: "Closed Phoenix socket connections by transport and reason.",
		}, []string{"transport", "reason"}),
	}
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.HTTPRequests, m.HTTPDuration, m.EventsAppended, m.GroupCommit, m.Connections, m.Disconnects)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// ConnectionOpened counts a socket connection (phoenix.Metrics).
func (m *Metrics) ConnectionOpened(transport string) { m.Connections.WithLabelValues(transport).Inc() }

// ConnectionClosed counts a socket disconnect (phoenix.Metrics).
func (m *Metrics) ConnectionClosed(transport, reason string) {
	m.Connections.WithLabelValues(transport).Dec()
	m.Disconnects.WithLabelValues(transport, reason).Inc()
}
