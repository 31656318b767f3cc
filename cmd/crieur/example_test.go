package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefusesExampleOnPublicURL: forgetting --content on a public
// base URL must not publish the built-in example to real followers; serve
// refuses before creating anything, and says how to make a folder.
func TestServeRefusesExampleOnPublicURL(t *testing.T) {
	t.Setenv("LC_ALL", "en_US.UTF-8")
	data := filepath.Join(t.TempDir(), "data")
	// Cancelled from the start: a serve that does not refuse starts and
	// stops at once (exit 0) instead of blocking the test.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var outb, errb strings.Builder
	code := run(ctx, []string{"serve", "--base-url", "https://tips.example.org", "--listen", "127.0.0.1:0", "--data", data}, &outb, &errb)
	out, errOut := outb.String(), errb.String()
	if code != 2 {
		t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, w := range []string{"https://tips.example.org is a public address", "crieur init DIR", "--example"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the refused serve created its data directory (err %v)", err)
	}
}

// TestServeExample: the example runs on a loopback URL, saying it is the
// read-only example and how to start on one's own folder, and anywhere
// with --example.
func TestServeExample(t *testing.T) {
	t.Setenv("LC_ALL", "fr_FR.UTF-8")
	tests := []struct {
		name, baseURL string
		extra         []string
	}{
		{"localhost", "http://localhost:8080", nil},
		{"loopback IP", "http://127.0.0.1:8080", nil},
		{"IPv6 loopback", "http://[::1]:8080", nil},
		{"public with --example", "https://demo.example.org", []string{"--example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // start, then stop at once: only the start-up matters here
			args := append([]string{"serve", "--base-url", tt.baseURL, "--listen", "127.0.0.1:0", "--data", t.TempDir()}, tt.extra...)
			var out, errb strings.Builder
			code := run(ctx, args, &out, &errb)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, errb.String())
			}
			for _, w := range []string{"l’exemple Zoomacom intégré", "crieur init", "crieur serve --content"} {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb.String())
				}
			}
		})
	}
}

func TestIsLoopbackURL(t *testing.T) {
	for u, want := range map[string]bool{
		"http://localhost:8080":        true,
		"http://LOCALHOST.:8080":       true,
		"http://bot.localhost":         true,
		"http://127.0.0.2":             true,
		"http://[::1]:80":              true,
		"https://tips.zoomacom.org":    false,
		"http://192.168.1.10:8080":     false,
		"http://localhost.example.org": false,
		"":                             false,
	} {
		if got := isLoopbackURL(u); got != want {
			t.Errorf("isLoopbackURL(%q) = %v, want %v", u, got, want)
		}
	}
}
