package webhook

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Delivery outcomes counted by switchboard_webhook_deliveries_total.
const (
	OutcomeDelivered = "delivered" // 2xx
	OutcomeRetry     = "retry"     // failed attempt, another one scheduled
	OutcomeFailed    = "failed"    // refused (4xx, 3xx): not retried
	OutcomeDead      = "dead"      // retries exhausted or endpoint disabled
)

type metricSet struct {
	attempts *prometheus.CounterVec // outcome
	latency  prometheus.Histogram
	enqueued prometheus.Counter
	disabled prometheus.Counter
	queue    *queueCollector
}

func newMetrics(e *Engine) *metricSet {
	return &metricSet{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_webhook_deliveries_total",
			Help: "Webhook delivery attempts by outcome: delivered, retry, failed (refused, not retried), dead (retries exhausted or endpoint disabled).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "switchboard_webhook_attempt_duration_seconds", Help: "Latency of webhook delivery attempts, from request start to response read.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		enqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_webhook_enqueued_total", Help: "Webhook deliveries written to the outbox.",
		}),
		disabled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_webhook_endpoints_disabled_total", Help: "Webhook endpoints disabled after failing for too long.",
		}),
		queue: &queueCollector{e: e,
			depth:  prometheus.NewDesc("switchboard_webhook_queue_depth", "Webhook deliveries queued (pending or in flight).", nil, nil),
			oldest: prometheus.NewDesc("switchboard_webhook_oldest_pending_age_seconds", "Age of the oldest queued webhook delivery (0 when none).", nil, nil),
		},
	}
}

func (m *metricSet) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.attempts, m.latency, m.enqueued, m.disabled, m.queue} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// queueCollector reads the queue's depth and oldest age from the store at
// scrape time (an index-only count over the queued rows).
type queueCollector struct {
	e             *Engine
	depth, oldest *prometheus.Desc
}

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- q.depth; ch <- q.oldest }

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, oldest, err := q.e.store.Read().WebhookQueueStats(ctx)
	if err != nil {
		q.e.log.Warn("webhook queue stats", "err", err)
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = q.e.opts.Now().Sub(oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(q.depth, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(q.oldest, prometheus.GaugeValue, age)
}
