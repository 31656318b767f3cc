package main

import (
	"errors"
	"fmt"
	"net"
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
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
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
		{"address in use", func(t *testing.T, data string) []string {
			return []string{"--listen", taken.Addr().String(), "--content", copyExample(t)}
		}, "impossible d’écouter à l’adresse indiquée\u00a0: un autre programme (ou un autre crieur) utilise ce port", "cannot listen on the address given: another program (or another crieur) uses that port", taken.Addr().String() + ": bind: address already in use"},
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

// TestServeStoppedError: the bot stopping after start-up because its
// listener failed is told in the staff's language, with the detail.
func TestServeStoppedError(t *testing.T) {
	err := fmt.Errorf("%w on 127.0.0.1:8080: %w", app.ErrStoppedServing, errors.New("accept tcp 127.0.0.1:8080: use of closed network connection"))
	for _, lc := range []struct{ lang, want string }{
		{"fr_FR.UTF-8", "crieur serve\u00a0: le bot s’est arrêté\u00a0: il ne pouvait plus accepter de connexions à son adresse\u202f; relancez-le"},
		{"en_US.UTF-8", "crieur serve: the bot stopped: it could no longer accept connections on its address; start it again"},
	} {
		setStaffLocale(t, lc.lang)
		got := serveError(staffPrinter("fr"), err)
		if !strings.HasPrefix(got, lc.want) || !strings.HasSuffix(got, "\n("+err.Error()+")") {
			t.Errorf("LANG=%s: %q, want it to start with %q and end with the detail", lc.lang, got, lc.want)
		}
	}
}
