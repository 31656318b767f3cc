package diskfree

import (
	"path/filepath"
	"testing"
)

func TestOf(t *testing.T) {
	s, err := Of(t.TempDir())
	if err != nil {
		t.Fatalf("Of(temp dir): %v", err)
	}
	if s.Total == 0 || s.Available > s.Total {
		t.Fatalf("space %+v: want 0 < available <= total", s)
	}
	if _, err := Of(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("Of(missing path) succeeded, want an error")
	}
}
