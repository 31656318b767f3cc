package content

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ProfileFile is the profile's file name at the content folder root.
const ProfileFile = "bot.yaml"

// Approval policies for new followers.
const (
	ApprovalAuto   = "auto"
	ApprovalManual = "manual"
)

// Defaults applied when bot.yaml leaves a setting out.
const (
	DefaultLanguage    = "fr"
	DefaultTimezone    = "Europe/Paris"
	DefaultRepeatAfter = 90 * 24 * time.Hour
)

// MaxFields is how many profile fields Mastodon shows.
const MaxFields = 4

// Profile is the bot's identity and publishing policy, read from bot.yaml.
type Profile struct {
	// Username is the account name, @Username@host; it never changes once
	// followers know it.
	Username string
	// Name is the display name; the username when left out.
	Name string
	// Summary is the bio in Markdown; SummaryHTML is it rendered.
	Summary, SummaryHTML string
	// Avatar and Header are image paths inside the content folder, or "".
	Avatar, Header string
	// Fields are the profile's name/value table.
	Fields []Field
	// Language is the default language of posts (BCP 47, e.g. "fr").
	Language string
	// Timezone is the IANA name; Location is it loaded.
	Timezone string
	Location *time.Location
	// Pinned is the Markdown of the introduction post pinned on the
	// profile; PinnedHTML is it rendered. Empty means no pinned post.
	Pinned, PinnedHTML string
	// PinnedTags are the #hashtags written in Pinned, without "#": the
	// pinned Note lists them as Hashtag tags, as it does for posts.
	PinnedTags []string
	// Schedule says when tips are published.
	Schedule Schedule
	// Approval is ApprovalAuto or ApprovalManual.
	Approval string
	// Blocklist holds lowercase domains and actor URLs we refuse.
	Blocklist []string
	// Answers lets the bot answer a mention naming a tool a tip replaces
	// (bot.yaml "answers", true by default).
	Answers bool
	// Staff are the fediverse handles (@user@host, a port allowed) told
	// of new replies and mentions by direct message (bot.yaml "staff").
	Staff []string
}

// Field is one row of the profile table.
type Field struct {
	// Name is the label, Value the Markdown text, ValueHTML it rendered
	// with rel="me" links so Mastodon can verify the site.
	Name, Value, ValueHTML string
}

// Schedule is the weekly rhythm of tips.
type Schedule struct {
	// Tips are the weekly slots, in the bot's timezone.
	Tips []Slot
	// RepeatAfter is the minimum time between two postings of the same
	// tip, once every tip has been posted.
	RepeatAfter time.Duration
}

// Slot is a weekly time, e.g. Tuesday 10:00.
type Slot struct {
	Weekday      time.Weekday
	Hour, Minute int
}

// String writes the slot as staff write it, "tue 10:00".
func (s Slot) String() string {
	return fmt.Sprintf("%s %02d:%02d", strings.ToLower(s.Weekday.String()[:3]), s.Hour, s.Minute)
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday, "dim": time.Sunday, "dimanche": time.Sunday,
	"mon": time.Monday, "monday": time.Monday, "lun": time.Monday, "lundi": time.Monday,
	"tue": time.Tuesday, "tuesday": time.Tuesday, "mar": time.Tuesday, "mardi": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday, "mer": time.Wednesday, "mercredi": time.Wednesday,
	"thu": time.Thursday, "thursday": time.Thursday, "jeu": time.Thursday, "jeudi": time.Thursday,
	"fri": time.Friday, "friday": time.Friday, "ven": time.Friday, "vendredi": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday, "sam": time.Saturday, "samedi": time.Saturday,
}

// ErrBadSlot is returned by ParseSlot for text that is not "day HH:MM".
var ErrBadSlot = errors.New(`expected a weekly slot like "tue 10:00"`)

// ParseSlot reads "tue 10:00" (English or French day names, short or long).
func ParseSlot(s string) (Slot, error) {
	parts := strings.Fields(strings.ToLower(s))
	if len(parts) != 2 {
		return Slot{}, wrapText(ErrBadSlot, "slot %q: %v", s, ErrBadSlot)
	}
	wd, ok := weekdays[strings.TrimSuffix(parts[0], ".")]
	if !ok {
		return Slot{}, wrapText(ErrBadSlot, "slot %q: unknown day %q: %v", s, parts[0], ErrBadSlot)
	}
	hm := strings.SplitN(strings.Replace(parts[1], "h", ":", 1), ":", 2)
	if len(hm) != 2 {
		return Slot{}, wrapText(ErrBadSlot, "slot %q: %v", s, ErrBadSlot)
	}
	h, err1 := strconv.Atoi(hm[0])
	m, err2 := strconv.Atoi(hm[1])
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return Slot{}, wrapText(ErrBadSlot, "slot %q: bad time of day: %v", s, ErrBadSlot)
	}
	return Slot{Weekday: wd, Hour: h, Minute: m}, nil
}

var usernameRE = regexp.MustCompile(`^[a-z0-9_-]{1,30}$`)

// LoadProfile reads and validates bot.yaml. On any problem it returns a
// nil profile and a Problems error listing all of them.
func LoadProfile(fsys fs.FS) (*Profile, error) {
	src, err := readRegular(fsys, ProfileFile, MaxProfileFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Problems{Problemf(ProfileFile, 0, "cannot read the profile (%v); create bot.yaml at the content folder root with at least \"username: <name>\"", err)}
	}
	if err != nil {
		return nil, Problems{fileProblemAt(ProfileFile, err)}
	}
	p, probs := parseProfile(fsys, src)
	if len(probs) > 0 {
		return nil, probs
	}
	return p, nil
}

func parseProfile(fsys fs.FS, src []byte) (*Profile, Problems) {
	if prob, bad := checkUTF8(ProfileFile, src); bad {
		return nil, Problems{prob}
	}
	r := &yamlReader{file: ProfileFile}
	root := r.parse(src)
	if root == nil {
		return nil, r.probs
	}
	p := &Profile{
		Language: DefaultLanguage,
		Timezone: DefaultTimezone,
		Approval: ApprovalAuto,
		Schedule: Schedule{RepeatAfter: DefaultRepeatAfter},
		Answers:  true,
	}
	var tzLine int
	image := func(name string, dst *string) func(v *yaml.Node) {
		return func(v *yaml.Node) {
			*dst = r.str(v, name)
			if *dst == "" {
				return
			}
			img, msg := checkImage(fsys, *dst)
			if msg.Format != "" {
				r.addf(v.Line, "%s: %s", name, msg)
			}
			*dst = img.File
		}
	}
	r.fields(root, "", map[string]func(v *yaml.Node){
		"username": func(v *yaml.Node) {
			p.Username = r.str(v, "username")
			if !usernameRE.MatchString(p.Username) {
				r.addf(v.Line, "username %q is not valid; use 1 to 30 lowercase letters, digits, \"_\" or \"-\"", p.Username)
			}
		},
		"name":    func(v *yaml.Node) { p.Name = r.str(v, "name") },
		"summary": func(v *yaml.Node) { p.Summary = r.str(v, "summary") },
		"avatar":  image("avatar", &p.Avatar),
		"header":  image("header", &p.Header),
		"fields": func(v *yaml.Node) {
			r.list(v, "fields", func(i int, item *yaml.Node) {
				var f Field
				what := fmt.Sprintf("fields[%d]", i)
				r.fields(item, what, map[string]func(v *yaml.Node){
					"name":  func(v *yaml.Node) { f.Name = r.str(v, what+".name") },
					"value": func(v *yaml.Node) { f.Value = r.str(v, what+".value") },
				})
				if f.Name == "" {
					r.addf(item.Line, "%s: name is missing; add \"name: <label>\"", what)
				}
				f.ValueHTML = render(f.Value, renderOptions{rel: relMe, inline: true})
				p.Fields = append(p.Fields, f)
			})
			if len(p.Fields) > MaxFields {
				r.addf(v.Line, "fields: %d fields given, Mastodon shows at most %d; remove some", len(p.Fields), MaxFields)
			}
		},
		"language": func(v *yaml.Node) {
			p.Language = r.str(v, "language")
			if !languageRE.MatchString(p.Language) {
				r.addf(v.Line, "language %q is not a language code; use a code like fr or en", p.Language)
			}
		},
		"timezone": func(v *yaml.Node) { p.Timezone = r.str(v, "timezone"); tzLine = v.Line },
		"pinned":   func(v *yaml.Node) { p.Pinned = r.str(v, "pinned") },
		"schedule": func(v *yaml.Node) {
			r.fields(v, "schedule", map[string]func(v *yaml.Node){
				"tips": func(v *yaml.Node) {
					r.list(v, "schedule.tips", func(i int, item *yaml.Node) {
						s, err := ParseSlot(r.str(item, fmt.Sprintf("schedule.tips[%d]", i)))
						if err != nil {
							r.addf(item.Line, "schedule.tips[%d]: %v; write a day and a time, like \"tue 10:00\"", i, err)
							return
						}
						p.Schedule.Tips = append(p.Schedule.Tips, s)
					})
				},
				"repeat_after": func(v *yaml.Node) {
					d, err := parseDuration(r.str(v, "schedule.repeat_after"))
					if err != nil {
						r.addf(v.Line, "schedule.repeat_after: %v; write a number of days like \"90d\"", err)
						return
					}
					p.Schedule.RepeatAfter = d
				},
			})
		},
		"followers": func(v *yaml.Node) {
			r.fields(v, "followers", map[string]func(v *yaml.Node){
				"approval": func(v *yaml.Node) {
					p.Approval = r.str(v, "followers.approval")
					if p.Approval != ApprovalAuto && p.Approval != ApprovalManual {
						r.addf(v.Line, "followers.approval %q is not known; use auto or manual", p.Approval)
					}
				},
			})
		},
		"answers": func(v *yaml.Node) { p.Answers = r.boolean(v, "answers") },
		"staff": func(v *yaml.Node) {
			r.list(v, "staff", func(i int, item *yaml.Node) {
				h := r.str(item, fmt.Sprintf("staff[%d]", i))
				if !staffHandleRE.MatchString(h) {
					r.addf(item.Line, "staff[%d]: %q is not a fediverse handle; write it like \"@jeanne@framapiaf.org\"", i, h)
					return
				}
				p.Staff = append(p.Staff, "@"+strings.TrimPrefix(h, "@"))
			})
		},
		"blocklist": func(v *yaml.Node) {
			r.list(v, "blocklist", func(i int, item *yaml.Node) {
				b, err := normalizeBlock(r.str(item, fmt.Sprintf("blocklist[%d]", i)))
				if err != nil {
					r.addf(item.Line, "blocklist[%d]: %v", i, err)
					return
				}
				p.Blocklist = append(p.Blocklist, b)
			})
		},
	})
	if p.Username == "" && !hasKey(root, "username") {
		r.addf(0, "username is missing; add \"username: <name>\" (lowercase letters, digits, \"_\" or \"-\")")
	}
	if p.Name == "" {
		p.Name = p.Username
	}
	loc, err := time.LoadLocation(p.Timezone)
	if err != nil || p.Timezone == "" {
		r.addf(tzLine, "timezone %q is not known; use an IANA name like Europe/Paris", p.Timezone)
	}
	p.Location = loc
	p.SummaryHTML = RenderMarkdown(p.Summary)
	p.PinnedHTML = RenderMarkdown(p.Pinned)
	pinnedTags, _ := scanMarkdown(p.Pinned)
	p.PinnedTags = dedupeTags(pinnedTags)
	return p, r.probs
}

// staffHandleRE is @user@host, the host possibly with a port (a staff
// account on a local test server).
var staffHandleRE = regexp.MustCompile(`^@?[A-Za-z0-9_][A-Za-z0-9_.-]*@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?$`)

var languageRE = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

func hasKey(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}

var domainRE = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9-]{2,}$`)

// normalizeBlock checks a blocklist entry: an actor URL or a domain.
func normalizeBlock(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", Textf("%q is not an actor URL; write a domain like spam.example or a URL like https://spam.example/users/bob", s)
		}
		u.Host = strings.ToLower(u.Host)
		return u.String(), nil
	}
	d := strings.TrimSuffix(strings.ToLower(s), ".")
	if !domainRE.MatchString(d) {
		return "", Textf("%q is not a domain; write a domain like spam.example or a URL like https://spam.example/users/bob", s)
	}
	return d, nil
}
