package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/i18n"
)

func check(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var dir, data string
	var strict bool
	fs := newFlagSet("check", "Validates every file of the content folder and prints each problem as\nfile:line: message (with how to fix it). Exits 1 if there is any error (or,\nwith --strict, any warning). Run it before you push your changes.", stderr)
	fs.string(&dir, "content", "CRIEUR_CONTENT", "", "content folder to check; empty checks the built-in example")
	fs.string(&data, "data", "CRIEUR_DATA", "", "the bot's data directory (optional): also finds renamed published files and past dates of posts never published")
	fs.BoolVar(&strict, "strict", false, "exit 1 on warnings too")
	if err := fs.parse(args); err != nil {
		return flagExit(err, stderr)
	}
	fsys := contentFS(dir)
	pr := staffPrinter(botLanguage(fsys))
	name := pr.Sprintf("(built-in example)")
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil || !st.IsDir() {
			pr.Fprintln(stderr, "crieur check: %s is not a folder", dir)
			return 2
		}
		name = dir
	}
	problems := content.Check(fsys)
	folder := content.Load(fsys)
	now := time.Now()
	var pastDates []string
	if data != "" {
		h, err := publicationHistory(ctx, data, dir)
		if err != nil {
			if !explain(pr, stderr, "check", err) {
				pr.Fprintln(stderr, "crieur check: read the publication history in %s: %v", data, err)
			}
			return 2
		}
		problems = append(problems, content.CheckHistory(fsys, folder, h, now)...)
		problems.Sort()
	} else {
		pastDates = content.PastDates(folder, now)
	}
	// Drafts are valid but not "ready": a volunteer reading "2 posts ready"
	// would believe the draft event goes out.
	ready, drafts := 0, 0
	for _, p := range folder.Posts {
		if p.Draft {
			drafts++
		} else {
			ready++
		}
	}
	errs, warns := 0, 0
	for _, p := range problems {
		if p.Warning {
			warns++
			fmt.Fprintln(stdout, p.Location()+": "+pr.Sprintf("warning: %s", p))
		} else {
			errs++
			fmt.Fprintln(stdout, p.Location()+": "+pr.Translate(p))
		}
	}
	if len(pastDates) > 0 {
		fmt.Fprintln(stdout, pr.Plural(len(pastDates), "%d post has a publish_at in the past (%s): if it was never published, it goes out at once. Add --data DIR (the bot's data directory) to know.",
			"%d posts have a publish_at in the past (%s): any never published goes out at once. Add --data DIR (the bot's data directory) to know.", joinFiles(pastDates)))
	}
	if drafts > 0 {
		fmt.Fprintln(stdout, pr.Plural(drafts, "%d draft (draft: true) is not published.", "%d drafts (draft: true) are not published."))
	}
	switch {
	case errs > 0:
		fmt.Fprintln(stdout, pr.Plural(errs, "%[2]s: %[1]d error; the file named above is skipped until fixed.", "%[2]s: %[1]d errors; the files named above are skipped until fixed.", name))
		if warns > 0 {
			// Not "published": a warning may be about a file check ignores.
			fmt.Fprintln(stdout, pr.Plural(warns, "%d warning: it holds nothing back, but read it (an ignored file is never published).", "%d warnings: they hold nothing back, but read them (an ignored file is never published)."))
		}
		return 1
	case warns > 0:
		fmt.Fprintln(stdout, pr.Plural(ready, "%[2]s: OK, %[1]d post ready", "%[2]s: OK, %[1]d posts ready", name)+pr.Plural(warns, ", with %d warning to read above.", ", with %d warnings to read above."))
		if strict {
			pr.Fprintln(stdout, "--strict: warnings count as errors.")
			return 1
		}
		return 0
	}
	fmt.Fprintln(stdout, pr.Plural(ready, "%[2]s: OK, %[1]d post ready.", "%[2]s: OK, %[1]d posts ready.", name))
	return 0
}

// joinFiles lists a few file names, then how many more.
func joinFiles(files []string) string {
	const show = 3
	s := ""
	for i, f := range files {
		if i == show {
			return s + fmt.Sprintf(", +%d", len(files)-show)
		}
		if i > 0 {
			s += ", "
		}
		s += f
	}
	return s
}

// publicationHistory reads what the bot already published: from the
// running daemon, else from its database opened read-only.
func publicationHistory(ctx context.Context, data, dir string) (content.History, error) {
	return readState(ctx, staffFlags{data: data, content: dir, baseURL: "http://localhost"}, "/history", (*app.App).History)
}

// Problems and texts are translated as messages.
var (
	_ i18n.Message = content.Problem{}
	_ i18n.Message = content.Text{}
)
