// Package buildinfo tells which crieur this is: the release tag and the
// commit it was built from, for `crieur version`, the User-Agent and
// NodeInfo. A release build sets both with the linker:
//
//	go build -ldflags "-X github.com/zoomacom/crieur/internal/buildinfo.tag=v1.0.0 \
//	  -X github.com/zoomacom/crieur/internal/buildinfo.commit=$(git rev-parse HEAD)" ./cmd/crieur
//
// Without them it falls back to what the Go toolchain records: the module
// version for `go install github.com/zoomacom/crieur/cmd/crieur@v1.0.0`,
// the VCS tag or revision for a build inside a git checkout.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// tag and commit are set by the linker (-X) for release builds. They are
// the only package-level variables: -X can set nothing else, and nothing
// writes them at run time.
var (
	tag    string
	commit string
)

// Info is what is known about the running binary.
type Info struct {
	// Tag is the release (v1.2.0), or "" for a development build.
	Tag string
	// Commit is the full or abbreviated revision, "" when unknown (a
	// module download carries its version, not its commit).
	Commit string
	// Dirty means the checkout had uncommitted changes.
	Dirty bool
	// GoVersion is the toolchain that built it.
	GoVersion string
}

// Read returns the running binary's Info.
func Read() Info {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	return resolve(tag, commit, info)
}

// resolve combines the linker values (which win) with the build info.
func resolve(ldTag, ldCommit string, bi *debug.BuildInfo) Info {
	out := Info{Tag: ldTag, Commit: ldCommit}
	if bi == nil {
		return out
	}
	out.GoVersion = bi.GoVersion
	pseudoCommit := ""
	if v := bi.Main.Version; out.Tag == "" && v != "" && v != "(devel)" && !strings.Contains(v, "+") {
		if c, ok := pseudoVersionCommit(v); ok {
			// A build of an untagged commit (go install …@COMMIT, or a
			// checkout between tags) is not a release.
			pseudoCommit = c
		} else {
			out.Tag = v
		}
	}
	if out.Commit == "" {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				out.Commit = s.Value
			case "vcs.modified":
				out.Dirty = s.Value == "true"
			}
		}
	}
	if out.Commit == "" {
		out.Commit = pseudoCommit
	}
	return out
}

// pseudoVersionCommit returns the commit of a pseudo-version such as
// v0.0.0-20261206051200-abcdef123456 or v1.2.1-0.20261206051200-abcdef123456.
func pseudoVersionCommit(v string) (string, bool) {
	parts := strings.Split(v, "-")
	if len(parts) < 3 {
		return "", false
	}
	c, ts := parts[len(parts)-1], parts[len(parts)-2]
	ts = ts[strings.LastIndexByte(ts, '.')+1:]
	if len(c) != 12 || !isHex(c) || len(ts) != 14 || !isDigits(ts) {
		return "", false
	}
	return c, true
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return s != ""
}

// Short is the commit's first 12 characters.
func (i Info) Short() string {
	if len(i.Commit) > 12 {
		return i.Commit[:12]
	}
	return i.Commit
}

// Version is the one-word version: the tag, else dev-COMMIT, else dev.
func (i Info) Version() string {
	switch {
	case i.Tag != "":
		return i.Tag
	case i.Commit != "":
		v := "dev-" + i.Short()
		if i.Dirty {
			v += "-dirty"
		}
		return v
	}
	return "dev"
}

// String is the full line `crieur version` prints after "crieur".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Version())
	var parts []string
	if i.Commit != "" && i.Tag != "" {
		c := "commit " + i.Short()
		if i.Dirty {
			c += " (modified)"
		}
		parts = append(parts, c)
	}
	if i.GoVersion != "" {
		parts = append(parts, i.GoVersion)
	}
	if len(parts) > 0 {
		b.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	return b.String()
}
