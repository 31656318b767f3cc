package content

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// realFolder writes a valid content folder (profile, avatar, one tip) to a
// temporary directory and returns its path.
func realFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"bot.yaml":             []byte(goodProfile),
		"media/avatar.png":     pngBytes(t, 4, 3),
		"media/photo.png":      pngBytes(t, 40, 30),
		"tips/01-framadate.md": []byte(goodTip),
	} {
		writeReal(t, dir, name, data)
	}
	return dir
}

func writeReal(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, dir, name string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func mkfifo(t *testing.T, dir, name string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sparse makes a file of size bytes that takes no disk space.
func sparse(t *testing.T, dir, name string, size int64) {
	t.Helper()
	writeReal(t, dir, name, nil)
	if err := os.Truncate(filepath.Join(dir, filepath.FromSlash(name)), size); err != nil {
		t.Fatal(err)
	}
}

// within runs fn and fails the test if it has not returned after a long
// while: the files below made the old loader block forever (a FIFO) or
// read without end (/dev/zero).
func within[T any](t *testing.T, what string, fn func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- fn() }()
	select {
	case v := <-done:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("%s still running after 30s: it blocks on a file", what)
	}
	var zero T
	return zero
}

// problemFor returns the message of the problem reported for file.
func problemFor(ps Problems, file string) string {
	for _, p := range ps {
		if p.File == file {
			return p.Message
		}
	}
	return ""
}

// TestLoadRefusesHostileFiles: a content folder is usually a shared git
// repository; whatever someone pushes into it, the loader reads only
// regular files inside it, bounded in size, never blocks, reports each
// refused file as "file: message", and keeps the good posts.
func TestLoadRefusesHostileFiles(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.md")
	if err := os.WriteFile(outside, []byte(goodTip), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		file    string
		message string // "" means the file loads as a post
		profile bool   // the profile still loads
	}{
		{"post linked to /dev/zero", func(t *testing.T, dir string) { symlink(t, "/dev/zero", dir, "tips/99.md") },
			"tips/99.md", "symbolic link leading outside the content folder", true},
		{"post linked outside the folder", func(t *testing.T, dir string) { symlink(t, outside, dir, "tips/98.md") },
			"tips/98.md", "symbolic link leading outside the content folder", true},
		{"post is a FIFO", func(t *testing.T, dir string) { mkfifo(t, dir, "tips/97.md") },
			"tips/97.md", "a named pipe (FIFO), not a regular file", true},
		{"post over the size cap", func(t *testing.T, dir string) {
			writeReal(t, dir, "tips/96.md", []byte(goodTip+strings.Repeat("<!-- padding -->\n", 20000)))
		}, "tips/96.md", "file of 332 KiB, at most 256 KiB", true},
		{"sparse 400 MB post", func(t *testing.T, dir string) { sparse(t, dir, "tips/95.md", 400<<20) },
			"tips/95.md", "file of 400.0 MiB, at most 256 KiB", true},
		{"post linked inside the folder loads", func(t *testing.T, dir string) {
			writeReal(t, dir, "shared/tip.md", []byte(goodTip))
			symlink(t, "../shared/tip.md", dir, "tips/94.md")
		}, "tips/94.md", "", true},
		{"bot.yaml is a FIFO", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "bot.yaml"))
			mkfifo(t, dir, "bot.yaml")
		}, "bot.yaml", "a named pipe (FIFO), not a regular file", false},
		{"bot.yaml linked to /dev/zero", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "bot.yaml"))
			symlink(t, "/dev/zero", dir, "bot.yaml")
		}, "bot.yaml", "symbolic link leading outside the content folder", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := realFolder(t)
			tt.setup(t, dir)
			f := within(t, "Load", func() *Folder { return Load(NewDir(dir)) })
			got := problemFor(f.Problems, tt.file)
			if tt.message == "" {
				if got != "" || f.Post(strings.TrimSuffix(tt.file, ".md")) == nil {
					t.Fatalf("%s not loaded (problem %q)", tt.file, got)
				}
			} else if !strings.Contains(got, tt.message) {
				t.Fatalf("problem for %s = %q, want it to say %q (all: %v)", tt.file, got, tt.message, f.Problems)
			}
			if (f.Profile != nil) != tt.profile {
				t.Fatalf("profile loaded = %v, want %v (problems %v)", f.Profile != nil, tt.profile, f.Problems)
			}
			if f.Post("tips/01-framadate") == nil {
				t.Fatalf("the good tip was lost: %v", f.Problems)
			}
			if probs := within(t, "Check", func() Problems { return Check(NewDir(dir)) }); tt.message != "" && problemFor(probs, tt.file) == "" {
				t.Fatalf("check does not report %s: %v", tt.file, probs)
			}
		})
	}
}

// TestCheckReportsUnservedMedia: `crieur check` names every file of media/
// that the media route refuses, so staff see why an image would 404.
func TestCheckReportsUnservedMedia(t *testing.T) {
	keyDir := t.TempDir()
	key := filepath.Join(keyDir, "zoomacom-tips.pem")
	if err := os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := realFolder(t)
	symlink(t, key, dir, "media/k.png")
	symlink(t, "/", dir, "media/root")
	symlink(t, "/dev/zero", dir, "media/z.png")
	symlink(t, "avatar.png", dir, "media/inner.png")
	sparse(t, dir, "media/big.png", 400<<20)
	mkfifo(t, dir, "media/pipe.png")
	writeReal(t, dir, "media/logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))
	writeReal(t, dir, "media/fine.png", pngBytes(t, 2, 2))

	probs := within(t, "Check", func() Problems { return Check(NewDir(dir)) })
	for file, want := range map[string]string{
		"media/k.png":     "symbolic link",
		"media/root":      "symbolic link",
		"media/z.png":     "symbolic link",
		"media/inner.png": "symbolic link",
		"media/big.png":   "file of 400.0 MiB, at most 10.0 MiB",
		"media/pipe.png":  "a named pipe (FIFO), not a regular file",
		"media/logo.svg":  "SVG images are not served",
	} {
		if got := problemFor(probs, file); !strings.Contains(got, want) {
			t.Errorf("check on %s = %q, want it to say %q", file, got, want)
		}
	}
	for _, file := range []string{"media/fine.png", "media/avatar.png"} {
		if got := problemFor(probs, file); got != "" {
			t.Errorf("check on the plain image %s = %q, want nothing", file, got)
		}
	}
}
