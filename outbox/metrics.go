package outbox

import "github.com/prometheus/client_golang/prometheus"

// Metrics are crieur's delivery, publication and inbox counters, exported
// at /metrics. The queue depth and unavailable hosts are gauges the app
// reads from the store at scrape time.
type Metrics struct {
	// Deliveries counts attempts by result: delivered, retry, gone,
	// final, gave_up.
	Deliveries *prometheus.CounterVec
	// Attempts observes, for each delivery that left the queue, how many
	// attempts it took, by final result (delivered, gone, final,
	// gave_up): retries that succeeded show up here.
	Attempts *prometheus.HistogramVec
	// Publications counts posts published by kind (tip, announce, ...).
	Publications *prometheus.CounterVec
	// InboxRequests counts POSTs to the inboxes by HTTP status answered
	// (202 accepted, 401 bad signature, 429 rate-limited...).
	InboxRequests *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crieur_deliveries_total",
			Help: "Delivery attempts by result (delivered, retry, gone, final, gave_up).",
		}, []string{"result"}),
		Attempts: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "crieur_delivery_attempts",
			Help:    "Attempts a delivery took before leaving the queue, by final result.",
			Buckets: []float64{1, 2, 3, 5, 8, 12, MaxAttempts},
		}, []string{"result"}),
		Publications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crieur_publications_total",
			Help: "Activities published by kind (tip, announce, reminder, update, delete).",
		}, []string{"kind"}),
		InboxRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crieur_inbox_requests_total",
			Help: "POSTs received at the inboxes, by HTTP status answered.",
		}, []string{"status"}),
	}
	reg.MustRegister(m.Deliveries, m.Attempts, m.Publications, m.InboxRequests)
	return m
}
