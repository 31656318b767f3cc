package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/zoomacom/crieur/internal/app"
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
	s, err := openSession(ctx, fs, sf, stderr)
	if err != nil {
		return fail(s, stderr, "stats", err)
	}
	order, ok := statsSorts()[sortBy]
	if !ok {
		s.pr.Fprintln(stderr, "crieur stats: --sort %q: want date, boosts, favourites, reactions or replies", sortBy)
		return 2
	}
	rep, err := readState(ctx, sf, "/stats", (*app.App).Stats)
	if err != nil {
		return fail(s, stderr, "stats", err)
	}
	slices.SortStableFunc(rep.Items, order)
	if asJSON {
		return printJSON(stdout, stderr, rep.Items)
	}
	pr := s.pr
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, pr.Sprintf("PUBLISHED\tPOST\tBOOSTS\tFAVOURITES\tREACTIONS\tREPLIES"))
	for _, it := range rep.Items {
		post := it.Post
		if it.Deleted {
			post = pr.Sprintf("%s (deleted)", post)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", it.When, post, it.Boosts, it.Favs, it.Reactions, it.Replies)
	}
	tw.Flush()
	fmt.Fprintln(stdout, pr.Plural(len(rep.Items), "%d post published.", "%d posts published."))
	return 0
}
