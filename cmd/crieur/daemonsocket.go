package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/zoomacom/crieur/internal/app"
)

// askDaemon sends method path to the running daemon over the admin socket
// in dataDir. It returns errNoDaemon when no daemon listens there: no
// socket, or a stale one left by a crash. timeout 0 means none (ctx bounds
// the request). The caller closes the answer's body; the connection is not
// kept, so nothing lingers once it is closed.
func askDaemon(ctx context.Context, dataDir, method, path string, timeout time.Duration) (*http.Response, error) {
	sock := filepath.Join(dataDir, app.AdminSocket)
	if _, err := os.Stat(sock); err != nil {
		return nil, errNoDaemon
	}
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, method, "http://crieur"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return nil, errNoDaemon
		}
		return nil, fmt.Errorf("ask the daemon: %w", err)
	}
	return resp, nil
}
