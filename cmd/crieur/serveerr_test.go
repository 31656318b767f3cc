package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/store"
)

// TestServeStartupErrors: when serve cannot start for a reason staff can
// fix, it says so in their language (French in a French session), what to
// do, and keeps the detail (the path, the value given); exit 1.
func TestServeStartupErrors(t *testing.T) {
	t.Setenv("CRIEUR_CONTENT", "")
	tests := []struct {
		name   string
		setup  func(t *testing.T, data string) []string // extra serve flags
		fr, en string
		detail string
	}{
		{"missing content folder", func(t *testing.T, data string) []string {
			return []string{"--content", filepath.Join(data, "nulle-part")}
		}, "le dossier de contenu est illisible\u00a0: vérifiez --content", "the content folder cannot be read: check --content", "nulle-part: not a readable directory"},
		{"bad base URL", func(t *testing.T, data string) []string {
			return []string{"--base-url", "ftp://tips.zoomacom.org", "--content", copyExample(t)}
		}, "--base-url n’est pas valide", "--base-url is not valid", `base URL "ftp://tips.zoomacom.org": scheme must be http or https`},
		{"TLS settings", func(t *testing.T, data string) []string {
			return []string{"--tls-domain", "tips.zoomacom.org", "--base-url", "http://tips.zoomacom.org", "--content", copyExample(t)}
		}, "les réglages du HTTPS intégré ne s’accordent pas", "the built-in HTTPS settings do not fit together", "--base-url must be https://tips.zoomacom.org"},
		{"bad bot.yaml", func(t *testing.T, data string) []string {
			dir := copyExample(t)
			if err := os.WriteFile(filepath.Join(dir, "bot.yaml"), []byte("name: Zoomacom\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"--content", dir}
		}, "le dossier de contenu est inutilisable\u202f; corrigez-le, puis lancez crieur check --content\u00a0:\nbot.yaml", "the content folder cannot be used; fix it, then run crieur check --content:\nbot.yaml", "bot.yaml"},
		{"damaged database", func(t *testing.T, data string) []string {
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(data, app.DBFile), []byte(strings.Repeat("pas une base ", 4096)), 0o600); err != nil {
				t.Fatal(err)
			}
			return nil
		}, "le fichier de la base de données est endommagé", "the database file is damaged", filepath.Join("crieur-data", app.DBFile)},
		{"locked database", func(t *testing.T, data string) []string {
			db, err := store.Open(filepath.Join(data, app.DBFile), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return nil
		}, "la base de données est utilisée par un autre crieur", "the database is in use by another crieur", "another crieur is using"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "crieur-data")
			args := append([]string{"serve", "--data", data, "--listen", "127.0.0.1:0", "--log-level", "error"}, tt.setup(t, data)...)
			for _, lc := range []struct{ lang, want string }{{"fr_FR.UTF-8", "crieur serve\u00a0: " + tt.fr}, {"en_US.UTF-8", "crieur serve: " + tt.en}} {
				setStaffLocale(t, lc.lang)
				code, _, stderr := runCmd(args...)
				if code != 1 || !strings.Contains(stderr, lc.want) || !strings.Contains(stderr, tt.detail) {
					t.Errorf("LANG=%s: exit %d, stderr:\n%s\nwant exit 1, %q and the detail %q", lc.lang, code, stderr, lc.want, tt.detail)
				}
			}
		})
	}
}
