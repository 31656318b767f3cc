package app

import (
	"net"
	"net/http"

	"github.com/zoomacom/crieur/internal/connlimit"
)

// limitConnections wraps the listener in the connection bound
// (Config.Connections) and lets it see which of srv's connections are
// idle. Refusals are answered in plain HTTP only when crieur serves plain
// HTTP; behind built-in TLS they are closed.
//
// The bound sits below the inbox's body gate: the gate decides which
// requests may read a body, this how many connections may wait for it at
// all, so that a surge of servers costs a bounded number of goroutines
// and buffers however many connect at once.
func (a *App) limitConnections(srv *http.Server) net.Listener {
	trusted := append(a.cfg.TrustedProxies[:len(a.cfg.TrustedProxies):len(a.cfg.TrustedProxies)], a.cfg.InboxLimits.TrustedProxies...)
	l := connlimit.New(a.listener, a.cfg.Connections, trusted, a.tls == nil)
	srv.ConnState = l.ConnState
	return l
}
