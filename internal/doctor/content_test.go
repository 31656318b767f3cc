package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestContentFolder: the content check counts what will really go out (a
// draft is not ready) and says files are skipped only when check finds
// errors, not for warnings, which skip nothing.
func TestContentFolder(t *testing.T) {
	const bot = "username: bot\nschedule: {tips: [\"tue 10:00\"]}\n"
	const tip = "---\ntags: [A]\n---\nUne astuce.\n"
	for _, tt := range []struct {
		name   string
		files  map[string]string
		status Status
		want   string
	}{
		{"ready", map[string]string{"bot.yaml": bot, "tips/01-a.md": tip}, OK, ": 1 post ready"},
		{"draft not ready", map[string]string{"bot.yaml": bot, "tips/01-a.md": tip, "events/e.md": "---\ndraft: true\ntitle: A\nstart: 2099-01-10 14:00\nend: 2099-01-10 17:00\n---\nx\n"}, OK, ": 1 post ready"},
		{"warning only", map[string]string{"bot.yaml": bot, "tips/01-a.md": tip, "tips/02-b.MD": tip}, OK, ": 1 post ready"},
		{"error", map[string]string{"bot.yaml": bot, "tips/01-a.md": tip, "tips/02-b.md": "---\ntags: [A\n---\nx\n"}, Warn, ": 1 problem, that file is skipped"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range tt.files {
				if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			d := &doctor{cfg: Config{ContentDir: dir}}
			d.content()
			if len(d.out) != 1 {
				t.Fatalf("results: %v", d.out)
			}
			r := d.out[0]
			got := r.String()
			if r.Status != tt.status || !strings.HasPrefix(got, dir+tt.want) {
				t.Errorf("%v %q, want %v %q", r.Status, got, tt.status, dir+tt.want)
			}
		})
	}
}
