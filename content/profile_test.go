package content

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestLoadProfile(t *testing.T) {
	p := mustProfile(t)
	if p.Username != "zoomacom-tips" || p.Name != "Zoomacom — astuces libres" {
		t.Errorf("identity = %q %q", p.Username, p.Name)
	}
	if p.Language != "fr" || p.Timezone != "Europe/Paris" || p.Location == nil || p.Location.String() != "Europe/Paris" {
		t.Errorf("defaults: language %q timezone %q location %v", p.Language, p.Timezone, p.Location)
	}
	if p.SummaryHTML != "<p>Des <strong>astuces</strong> libres.</p>" {
		t.Errorf("SummaryHTML = %q", p.SummaryHTML)
	}
	want := `<a href="https://www.zoomacom.org" rel="me nofollow noopener noreferrer" target="_blank">https://www.zoomacom.org</a>`
	if len(p.Fields) != 2 || p.Fields[0].ValueHTML != want {
		t.Errorf("field 0 HTML = %q, want %q", p.Fields[0].ValueHTML, want)
	}
	if !strings.Contains(p.Fields[1].ValueHTML, `href="https://blog.zoomacom.org" rel="me nofollow noopener noreferrer"`) {
		t.Errorf("field 1 HTML = %q", p.Fields[1].ValueHTML)
	}
	wantSlots := []Slot{{time.Tuesday, 10, 0}, {time.Friday, 17, 30}}
	if len(p.Schedule.Tips) != 2 || p.Schedule.Tips[0] != wantSlots[0] || p.Schedule.Tips[1] != wantSlots[1] {
		t.Errorf("slots = %v", p.Schedule.Tips)
	}
	if p.Schedule.RepeatAfter != 60*24*time.Hour || p.Approval != ApprovalManual {
		t.Errorf("repeat %v approval %q", p.Schedule.RepeatAfter, p.Approval)
	}
	if strings.Join(p.Blocklist, " ") != "spam.example https://bad.example/users/bob" {
		t.Errorf("blocklist = %v", p.Blocklist)
	}
	if p.Avatar != "media/avatar.png" || p.PinnedHTML != "<p>Bonjour !</p>" {
		t.Errorf("avatar %q pinned %q", p.Avatar, p.PinnedHTML)
	}
}

func TestLoadProfileDefaults(t *testing.T) {
	p, err := LoadProfile(fstest.MapFS{"bot.yaml": {Data: []byte("username: bot\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "bot" || p.Approval != ApprovalAuto || p.Schedule.RepeatAfter != DefaultRepeatAfter || p.Language != "fr" {
		t.Errorf("defaults not applied: %+v", p)
	}
}

func TestLoadProfileProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // "line: message start"
	}{
		{"unknown field", "username: bot\nusrname: x\n", []string{`2: unknown field "usrname"; remove it or fix its spelling`}},
		{"bad username", "username: Zoomacom Tips\n", []string{`1: username "Zoomacom Tips" is not valid; use 1 to 30 lowercase`}},
		{"missing username", "name: Bot\n", []string{`0: username is missing; add "username: <name>"`}},
		{"bad timezone", "username: bot\ntimezone: Europe/Pariss\n", []string{`2: timezone "Europe/Pariss" is not known; use an IANA name`}},
		{"bad slot", "username: bot\nschedule:\n  tips: [\"tue 10:00\", \"funday 10:00\"]\n", []string{`3: schedule.tips[1]: slot "funday 10:00": unknown day`}},
		{"bad repeat", "username: bot\nschedule:\n  repeat_after: soon\n", []string{`3: schedule.repeat_after: cannot read "soon"`}},
		{"bad approval", "username: bot\nfollowers: {approval: maybe}\n", []string{`2: followers.approval "maybe" is not known; use auto or manual`}},
		{"missing avatar", "username: bot\navatar: media/nope.png\n", []string{`2: avatar: file "media/nope.png" not found`}},
		{"avatar escapes folder", "username: bot\navatar: ../secret.png\n", []string{`2: avatar: file "../secret.png" must be a path inside the content folder`}},
		{"avatar not an image", "username: bot\navatar: bot.yaml\n", []string{`2: avatar: file "bot.yaml" is not a PNG, JPEG, GIF or WebP image`}},
		{"yaml syntax", "username: bot\nname: [oops\n", []string{`2: invalid YAML: the list opened with "[" on this line is not closed`}},
		{"yaml indentation", "username: bot\nname: a\n  b: c\n", []string{`3: invalid YAML: mapping values are not allowed`}},
		{"field without name", "username: bot\nfields:\n  - value: x\n", []string{`3: fields[0]: name is missing`}},
		{"too many fields", "username: bot\nfields:\n" + strings.Repeat("  - {name: a, value: b}\n", 5), []string{`3: fields: 5 fields given, Mastodon shows at most 4`}},
		{"bad blocklist", "username: bot\nblocklist: [\"not a domain\"]\n", []string{`2: blocklist[0]: "not a domain" is not a domain`}},
		{"duplicate key", "username: bot\nusername: bot2\n", []string{`2: field "username" is set twice (first on line 1)`}},
		{"two problems at once", "username: BAD\nlanguage: French\n", []string{`1: username "BAD"`, `2: language "French" is not a language code`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := folderFS(t, nil)
			fsys["bot.yaml"].Data = []byte(tt.yaml)
			p, err := LoadProfile(fsys)
			if p != nil {
				t.Fatalf("got a profile despite problems")
			}
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("error %v is not Problems", err)
			}
			if len(probs) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(probs), len(tt.want), probs)
			}
			for i, w := range tt.want {
				got := probs[i]
				if got.File != "bot.yaml" {
					t.Errorf("file = %q", got.File)
				}
				if g := strings.TrimPrefix(got.Error(), "bot.yaml:"); !strings.HasPrefix(g, w) && !strings.HasPrefix("0: "+strings.TrimPrefix(g, " "), w) {
					t.Errorf("problem %d = %q, want prefix %q", i, got.Error(), w)
				}
			}
		})
	}
}

func TestProblemError(t *testing.T) {
	p := Problem{File: "tips/framadate.md", Line: 4, Message: `images[0]: alt text is missing; add "alt: <describe the image>"`}
	if got := p.Error(); got != `tips/framadate.md:4: images[0]: alt text is missing; add "alt: <describe the image>"` {
		t.Errorf("Error() = %q", got)
	}
	if (Problem{File: "bot.yaml", Message: "m"}).Error() != "bot.yaml: m" {
		t.Error("a problem without line must read file: message")
	}
	if Problems(nil).Err() != nil {
		t.Error("no problems must be a nil error")
	}
}

func TestParseSlot(t *testing.T) {
	tests := []struct {
		in   string
		want Slot
		ok   bool
	}{
		{"tue 10:00", Slot{time.Tuesday, 10, 0}, true},
		{"Vendredi 17h30", Slot{time.Friday, 17, 30}, true},
		{"sun 02:30", Slot{time.Sunday, 2, 30}, true},
		{"tue 25:00", Slot{}, false},
		{"tue", Slot{}, false},
		{"xyz 10:00", Slot{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSlot(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ParseSlot(%q) = %v, %v", tt.in, got, err)
			}
			if err != nil && !errors.Is(err, ErrBadSlot) {
				t.Errorf("error %v is not ErrBadSlot", err)
			}
		})
	}
}
