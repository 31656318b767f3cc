package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"

	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/i18n"
)

// statsSorts are the --sort keys of `crieur stats`: each orders posts
// largest (or newest) first.
func statsSorts() map[string]func(x, y app.StatItem) int {
	by := func(f func(app.StatItem) int) func(x, y app.StatItem) int {
		return func(x, y app.StatItem) int {
			if c := cmp.Compare(f(y), f(x)); c != 0 {
				return c
			}
			return y.Published.Compare(x.Published)
		}
	}
	return map[string]func(x, y app.StatItem) int{
		"date":       func(x, y app.StatItem) int { return y.Published.Compare(x.Published) },
		"boosts":     by(func(s app.StatItem) int { return s.Boosts }),
		"favourites": by(func(s app.StatItem) int { return s.Favs }),
		"reactions":  by(func(s app.StatItem) int { return s.Reactions }),
		"replies":    by(func(s app.StatItem) int { return s.Replies }),
	}
}

func stats(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var sf staffFlags
	var sortBy string
	var asJSON bool
	fs := newFlagSet("stats", "Shows, for each post published, its date and how many boosts, favourites,\nemoji reactions and replies it received. Works whether or not `crieur serve`\nis running.", stderr)
	sf.register(fs)
	fs.StringVar(&sortBy, "sort", "date", "order: date, boosts, favourites, reactions or replies (largest first)")
	fs.BoolVar(&asJSON, "json", false, "print JSON (for scripts)")
	if err := fs.parse(args); err != nil {
		return flagExit(err, stderr)
	}
	order, ok := statsSorts()[sortBy]
	if !ok {
		fmt.Fprintf(stderr, "crieur stats: --sort %q: want date, boosts, favourites, reactions or replies\n", sortBy)
		return 2
	}
	rep, err := readState(ctx, sf, "/stats", (*app.App).Stats)
	if err != nil {
		fmt.Fprintln(stderr, "crieur stats:", err)
		return 1
	}
	slices.SortStableFunc(rep.Items, order)
	if asJSON {
		return printJSON(stdout, stderr, rep.Items)
	}
	pr := i18n.New(i18n.Lang(os.Getenv, rep.Language))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, pr.Sprintf("PUBLISHED\tPOST\tBOOSTS\tFAVOURITES\tREACTIONS\tREPLIES"))
	for _, s := range rep.Items {
		post := s.Post
		if s.Deleted {
			post = pr.Sprintf("%s (deleted)", post)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", s.When, post, s.Boosts, s.Favs, s.Reactions, s.Replies)
	}
	tw.Flush()
	fmt.Fprintln(stdout, pr.Plural(len(rep.Items), "%d post published.", "%d posts published."))
	return 0
}
