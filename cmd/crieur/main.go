// Command crieur runs a fediverse bot that publishes the tips and event
// announcements staff write as Markdown files in a content folder.
//
//	crieur serve     run the bot
//	crieur check     validate the content folder before pushing
//	crieur queue     list the next publications
//	crieur followers list, approve or reject followers
//	crieur deliveries  show what became of each activity sent
//	crieur version   print the version
//
// Run `crieur help` or `crieur COMMAND --help` for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/gctune"
	"github.com/zoomacom/crieur/internal/ratelimit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "run the bot: serve ActivityPub and publish on schedule", serve},
		{"check", "validate the content folder; prints every problem as file:line: message", check},
		{"queue", "list the next publications, as the running bot will do them", queue},
		{"followers", "list followers; approve or reject pending ones (manual approval)", followers},
		{"deliveries", "show, per activity sent, how many inboxes acknowledged, are pending, gave up", deliveries},
		{"init", "create a content folder ready to edit: crieur init DIR", initCmd},
		{"doctor", "check the installation as a Mastodon server sees it; each line OK or what to fix", doctorCmd},
		{"backup", "write a backup archive (database, keys), also while the bot runs", backupCmd},
		{"restore", "restore a backup archive into a new data directory", restoreCmd},
		{"mentions", "list the replies and mentions received, newest first", mentions},
		{"stats", "show, per post published, its boosts, favourites, reactions and replies", stats},
		{"repair", "salvage a damaged database into a new file, keeping the damaged one aside", repair},
		{"version", "print crieur's version (tag, commit) and database schema", versionCmd},
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "crieur: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	pr := helpPrinter()
	fmt.Fprintln(w, pr.Text("crieur — a fediverse bot that publishes tips and events from a folder of Markdown files."))
	fmt.Fprintln(w, "\n"+pr.Text("Usage: crieur COMMAND [flags]")+"\n\n"+pr.Text("Commands:"))
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, pr.Text(c.summary))
	}
	fmt.Fprintln(w, "\n"+pr.Text("Run `crieur COMMAND --help` for the flags of a command. Every flag can also be set\nwith the environment variable shown in its help (flags win)."))
}

// flagSet is a FlagSet whose flags also read CRIEUR_* environment variables.
type flagSet struct {
	*flag.FlagSet
	env map[string]string // flag name -> variable
}

func newFlagSet(name, about string, stderr io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), env: map[string]string{}}
	fs.SetOutput(stderr)
	fs.Usage = func() {
		pr := helpPrinter()
		fmt.Fprintf(stderr, "%s\n\n%s\n\n%s\n", pr.Sprintf("Usage: crieur %s [flags]", name), pr.Text(about), pr.Text("Flags:"))
		translateFlags(pr, fs.FlagSet)
		fs.PrintDefaults()
	}
	return fs
}

func (fs *flagSet) string(p *string, name, variable, def, help string) {
	fs.StringVar(p, name, def, help+" (env "+variable+")")
	fs.env[name] = variable
}

func (fs *flagSet) bool(p *bool, name, variable string, def bool, help string) {
	fs.BoolVar(p, name, def, help+" (env "+variable+")")
	fs.env[name] = variable
}

// parse reads the environment first, then the command line, so flags win.
func (fs *flagSet) parse(args []string) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		variable, ok := fs.env[f.Name]
		if !ok {
			return
		}
		if v, set := os.LookupEnv(variable); set {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", variable, v, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return fs.Parse(args)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseServeFlags(args, stderr)
	if err != nil {
		return flagExit(err, stderr)
	}
	cfg, logFormat, logLevel, trustedProxy, example := opts.cfg, opts.logFormat, opts.logLevel, opts.trustedProxy, opts.example
	proxies, err := ratelimit.ParsePrefixes(trustedProxy)
	if err != nil {
		fmt.Fprintln(stderr, "crieur serve: --trusted-proxy:", err)
		return 2
	}
	cfg.TrustedProxies = proxies
	if err := checkExample(staffPrinter(botLanguage(contentFS(""))), cfg.BaseURL, cfg.ContentDir, example, stderr); err != nil {
		return 2
	}
	logger, err := newLogger(stderr, logFormat, logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "crieur serve:", err)
		return 2
	}
	cfg.Log = logger
	defer startCPUProfile(ctx, os.Getenv, stderr)()
	gc := gctune.Apply(os.Getenv)
	logger.Debug("garbage collector", "gogc_set", gc.Percent, "memory_limit_bytes", gc.MemoryLimit)
	a, err := app.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, serveError(staffPrinter(botLanguage(contentFS(cfg.ContentDir))), err))
		return 1
	}
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(stderr, serveError(staffPrinter(botLanguage(contentFS(cfg.ContentDir))), err))
		return 1
	}
	return 0
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

// flagExit maps a flag parsing error to an exit code: --help is success.
func flagExit(err error, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "crieur:", err)
	return 2
}
