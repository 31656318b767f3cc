package main

import (
	"testing"

	"golang.org/x/text/language"

	"github.com/zoomacom/crieur/internal/doctor"
	"github.com/zoomacom/crieur/internal/i18n"
)

// TestDoctorPlurals: doctor's counted lines take the singular or the
// plural as each language wants (French says "0 publication prête"),
// never "publication(s) prête(s)".
func TestDoctorPlurals(t *testing.T) {
	ready := func(n int) doctor.Result {
		return doctor.Result{Format: "%[2]s: %[1]d posts ready", One: "%[2]s: %[1]d post ready", Args: []any{n, "contenu"}}
	}
	en, fr := i18n.New(language.English), i18n.New(language.French)
	tests := []struct {
		name string
		pr   *i18n.Printer
		n    int
		want string
	}{
		{"English 0", en, 0, "contenu: 0 posts ready"},
		{"English 1", en, 1, "contenu: 1 post ready"},
		{"English 4", en, 4, "contenu: 4 posts ready"},
		{"French 0", fr, 0, "contenu\u00a0: 0 publication prête"},
		{"French 1", fr, 1, "contenu\u00a0: 1 publication prête"},
		{"French 4", fr, 4, "contenu\u00a0: 4 publications prêtes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resultText(tt.pr, ready(tt.n)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := resultText(fr, doctor.Result{Format: "no server marked unavailable"}); got != "aucun serveur marqué indisponible" {
		t.Errorf("uncounted line: %q", got)
	}
}
