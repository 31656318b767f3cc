package app_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/i18n"
	"github.com/zoomacom/crieur/internal/testpeer"
	"golang.org/x/text/language"
)

// TestAudienceLabel: staff read the same words for who could see a reply
// in `crieur mentions` and in the direct message they receive, from the
// catalog in both languages.
func TestAudienceLabel(t *testing.T) {
	fr, en := i18n.New(language.French), i18n.New(language.English)
	tests := []struct {
		audience, french, english string
	}{
		{"public", "public", "public"},
		{"", "public", "public"},
		{"unlisted", "non listé", "unlisted"},
		{"followers", "abonnés seulement", "followers only"},
		{"direct", "message direct", "direct message"},
		{"limited", "limited", "limited"},
	}
	for _, tt := range tests {
		t.Run(tt.audience, func(t *testing.T) {
			if got := app.AudienceLabel(fr, tt.audience); got != tt.french {
				t.Errorf("French: %q, want %q", got, tt.french)
			}
			if got := app.AudienceLabel(en, tt.audience); got != tt.english {
				t.Errorf("English: %q, want %q", got, tt.english)
			}
		})
	}
}

// TestStaffNoticeInEnglish: the staff of an English bot read its notice in
// English, a followers-only reply labelled as `crieur mentions` labels it.
func TestStaffNoticeInEnglish(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	jeanne := testpeer.New(t, "jeanne")
	prof, err := os.ReadFile(filepath.Join(dir, "bot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(string(prof), "\nlanguage: fr\n", "\nlanguage: en\n", 1)
	if yaml == string(prof) {
		t.Fatal("bot.yaml of the example has no language: fr line")
	}
	writeFile(t, dir, "bot.yaml", yaml+"staff: [\""+jeanne.Handle()+"\"]\n")
	in := startConfig(t, app.Config{DataDir: data, ContentDir: dir, ContentPoll: 100 * time.Millisecond,
		AllowPrivateAddresses: true, StaffBatch: 2 * time.Second}, testWriter{t})
	jeanne.Route(crieurHost, in.addr)
	dominique := in.peer(t, "dominique")
	reply := dominique.Note("<p>@zoomacom-tips for my followers</p>", []string{dominique.ActorID() + "/followers"}, []string{actorURL}, []string{actorURL})
	post(t, dominique, dominique.Create(reply))

	notice := waitReceived(t, jeanne, "Create", contentHas(reply["id"].(string)))
	var n struct{ Content string }
	if err := json.Unmarshal(notice.Object, &n); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 new reply or mention", "(followers only)", "“@zoomacom-tips for my followers”"} {
		if !strings.Contains(n.Content, want) {
			t.Errorf("staff notice lacks %q:\n%s", want, n.Content)
		}
	}
}
