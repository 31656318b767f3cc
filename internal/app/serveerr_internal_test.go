package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRunListenerFails: when the listener fails after start-up, Run stops
// the bot and returns ErrStoppedServing naming the address, so serve can
// tell staff in their language; a normal stop returns nil.
func TestRunListenerFails(t *testing.T) {
	for _, fail := range []bool{true, false} {
		name := "stopped by its context"
		if fail {
			name = "listener failing"
		}
		t.Run(name, func(t *testing.T) {
			a, err := New(Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", BaseURL: "http://crieur.test", ShutdownTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			addr := a.listener.Addr().String()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- a.Run(ctx) }()
			// Serving: the listener answers.
			resp, err := http.Get("http://" + addr + "/.well-known/nodeinfo")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if fail {
				a.listener.Close()
			} else {
				cancel()
			}
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatal("Run did not return")
			}
			switch {
			case fail && (!errors.Is(err, ErrStoppedServing) || !strings.Contains(err.Error(), addr)):
				t.Fatalf("Run = %v, want ErrStoppedServing naming %s", err, addr)
			case !fail && err != nil:
				t.Fatalf("Run stopped by its context = %v, want nil", err)
			}
		})
	}
}
