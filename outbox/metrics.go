package outbox

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the delivery counters exported at /metrics.
type Metrics struct {
	// Deliveries counts attempts by result: delivered, retry, gone,
	// final, gave_up.
	Deliveries *prometheus.CounterVec
	// Publications counts posts published by kind (tip, announce, ...).
	Publications *prometheus.CounterVec
}

// NewMetrics creates the delivery metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crieur_deliveries_total",
			Help: "Delivery attempts by result (delivered, retry, gone, final, gave_up).",
		}, []string{"result"}),
		Publications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crieur_publications_total",
			Help: "Activities published by kind (tip, announce, reminder, update, delete).",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.Deliveries, m.Publications)
	return m
}
