package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/zoomacom/crieur/internal/app"
)

// errBadSince means --since is none of the forms parseSince reads.
var errBadSince = errors.New("bad --since")

// parseSince reads --since: a duration back from now ("48h", "7d") or a
// day ("2026-12-01", midnight local time) or an RFC 3339 instant.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return now.AddDate(0, 0, -days), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, errBadSince
}

func mentions(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var sf staffFlags
	var since string
	var asJSON bool
	fs := newFlagSet("mentions", "Lists the replies and mentions the bot received, newest first: when, who,\nwhich post it answers, who could see it, the text and its link. Works\nwhether or not `crieur serve` is running.", stderr)
	sf.register(fs)
	fs.StringVar(&since, "since", "", "only those received since a duration ago (48h, 7d) or a day (2026-12-01)")
	fs.BoolVar(&asJSON, "json", false, "print JSON (for scripts)")
	if err := fs.parse(args); err != nil {
		return flagExit(err, stderr)
	}
	s, err := openSession(ctx, fs, sf, stderr)
	if err != nil {
		return fail(s, stderr, "mentions", err)
	}
	from, err := parseSince(since, time.Now())
	if err != nil {
		s.pr.Fprintln(stderr, "crieur mentions: --since %q: want a duration (48h, 7d), a day (2026-12-01) or an RFC 3339 time", since)
		return 2
	}
	path := "/mentions"
	if !from.IsZero() {
		path += "?since=" + url.QueryEscape(from.UTC().Format(time.RFC3339))
	}
	rep, err := readState(ctx, sf, path, func(a *app.App) (app.MentionsReport, error) { return a.Mentions(from) })
	if err != nil {
		return fail(s, stderr, "mentions", err)
	}
	if asJSON {
		return printJSON(stdout, stderr, rep.Items)
	}
	pr := s.pr
	for _, m := range rep.Items {
		what := pr.Sprintf("mention")
		if m.InReplyTo != "" {
			what = pr.Sprintf("reply to %s", cmp.Or(m.Post, m.InReplyTo))
		}
		fmt.Fprintf(stdout, "%s  %s  %s  (%s)\n", m.When, m.Author, what, app.AudienceLabel(pr, m.Visibility))
		for _, line := range strings.Split(m.Text, "\n") {
			fmt.Fprintf(stdout, "    %s\n", line)
		}
		fmt.Fprintf(stdout, "    %s\n\n", m.URL)
	}
	if len(rep.Items) == 0 {
		pr.Fprintln(stdout, "No replies or mentions.")
	} else {
		fmt.Fprintln(stdout, pr.Plural(len(rep.Items), "%d reply or mention.", "%d replies or mentions."))
	}
	return 0
}

func printJSON(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintln(stderr, "crieur:", err)
		return 1
	}
	return 0
}
