package app_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zoomacom/crieur/internal/app"
)

// TestAdminSocketMode: the admin socket is owner-only unless the daemon
// is told to let its group in (the systemd unit's staff group).
func TestAdminSocketMode(t *testing.T) {
	for _, tt := range []struct {
		name  string
		group bool
		want  os.FileMode
	}{
		{"owner only by default", false, 0o600},
		{"group with --admin-socket-group", true, 0o660},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			startConfig(t, app.Config{DataDir: dir, AdminSocketGroup: tt.group}, testWriter{t})
			st, err := os.Stat(filepath.Join(dir, app.AdminSocket))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != tt.want {
				t.Fatalf("admin socket mode %v, want socket %v", st.Mode(), tt.want)
			}
		})
	}
}
