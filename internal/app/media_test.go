package app_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// getMedia fetches a media path from the running app as a browser would.
func getMedia(t *testing.T, in *instance, file string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+in.addr+"/media/"+bot+"/"+file, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = crieurHost
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", file, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		t.Fatalf("GET %s: read: %v", file, err)
	}
	return resp.StatusCode, resp.Header, body
}

// TestMediaServesOnlyPlainFilesInsideTheFolder: anyone with push access to
// the content repository can add symlinks and special files to media/;
// none of them may publish the signing key or another file of the disk,
// or make the process read without end.
func TestMediaServesOnlyPlainFilesInsideTheFolder(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	in := startContent(t, data, dir, &syncBuffer{})
	media := filepath.Join(dir, "media")
	elsewhere := t.TempDir()
	if err := os.WriteFile(filepath.Join(elsewhere, "private.png"), []byte("PRIVATE KEY of another program"), 0o600); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"k.png":     filepath.Join(data, "keys", bot+".pem"),
		"root":      "/",
		"elsewhere": elsewhere,
		"z.png":     "/dev/zero",
		"inner.png": "avatar.png",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(media, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(media, "pipe.png"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(media, "big.png"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(media, "big.png"), 400<<20); err != nil {
		t.Fatal(err)
	}
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>`)
	if err := os.WriteFile(filepath.Join(media, "logo.svg"), svg, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, file := range []string{
		"media/k.png", "media/root/etc/hostname", "media/elsewhere/private.png", "media/z.png", "media/inner.png",
		"media/pipe.png", "media/big.png", "media/logo.svg",
	} {
		t.Run(file, func(t *testing.T) {
			status, _, body := getMedia(t, in, file)
			if status != http.StatusNotFound || bytes.Contains(body, []byte("PRIVATE KEY")) || len(body) > 100 {
				t.Fatalf("GET %s = %d with %d bytes (%.40q), want a short 404", file, status, len(body), body)
			}
		})
	}
	t.Run("plain image is served", func(t *testing.T) {
		want, err := os.ReadFile(filepath.Join(media, "avatar.png"))
		if err != nil {
			t.Fatal(err)
		}
		status, h, body := getMedia(t, in, "media/avatar.png")
		if status != http.StatusOK || !bytes.Equal(body, want) || h.Get("Content-Type") != "image/png" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET avatar = %d %q, %d bytes", status, h.Get("Content-Type"), len(body))
		}
	})
}

// TestMediaIsStreamed: a large media file is sent in chunks, never read
// whole into memory: the bytes the process allocates while serving it
// stay a small fraction of its size.
func TestMediaIsStreamed(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	in := startContent(t, data, dir, &syncBuffer{})
	const size = 8 << 20
	img := bytes.Repeat([]byte("crieur!\n"), size/8)
	if err := os.WriteFile(filepath.Join(dir, "media", "large.png"), img, 0o644); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+in.addr+"/media/"+bot+"/media/large.png", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = crieurHost
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	if err != nil || resp.StatusCode != http.StatusOK || n != size {
		t.Fatalf("GET large.png = %d, %d bytes, %v; want 200 and %d bytes", resp.StatusCode, n, err, size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/4 {
		t.Fatalf("serving %d bytes allocated %d bytes: the file is read whole, not streamed", size, alloc)
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("media served without a sandbox CSP: %q", resp.Header.Get("Content-Security-Policy"))
	}
}
