package buildinfo

import (
	"runtime/debug"
	"testing"
)

// TestResolve: where the version and commit come from, for each way
// crieur gets built.
func TestResolve(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "44433fa0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6"
	tests := []struct {
		name           string
		ldTag, ldCommt string
		bi             *debug.BuildInfo
		version, line  string
		commit         string
	}{
		{name: "release build with ldflags", ldTag: "v1.0.0", ldCommt: rev,
			bi:      &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			version: "v1.0.0", line: "v1.0.0 (commit 44433fa0c1d2, go1.26.8)", commit: rev},
		{name: "go install @v1.2.0", bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}},
			version: "v1.2.0", line: "v1.2.0 (go1.26.8)"},
		{name: "go install @commit (pseudo-version)", bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261206052254-44433fa0c1d2"}},
			version: "dev-44433fa0c1d2", line: "dev-44433fa0c1d2 (go1.26.8)", commit: "44433fa0c1d2"},
		{name: "pseudo-version after a tag", bi: &debug.BuildInfo{Main: debug.Module{Version: "v1.2.1-0.20261206052254-44433fa0c1d2"}},
			version: "dev-44433fa0c1d2", line: "dev-44433fa0c1d2", commit: "44433fa0c1d2"},
		{name: "checkout at a tag", bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.1.0"}, Settings: vcs(rev, "false")},
			version: "v1.1.0", line: "v1.1.0 (commit 44433fa0c1d2, go1.26.8)", commit: rev},
		{name: "checkout with changes", bi: &debug.BuildInfo{Main: debug.Module{Version: "v1.1.1-0.20261206052254-44433fa0c1d2+dirty"}, Settings: vcs(rev, "true")},
			version: "dev-44433fa0c1d2-dirty", line: "dev-44433fa0c1d2-dirty", commit: rev},
		{name: "go run, no VCS", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, version: "dev", line: "dev"},
		{name: "no build info", version: "dev", line: "dev"},
		{name: "ldflags win over build info", ldTag: "v2.0.0", bi: &debug.BuildInfo{Main: debug.Module{Version: "v1.0.0"}, Settings: vcs(rev, "false")},
			version: "v2.0.0", line: "v2.0.0 (commit 44433fa0c1d2)", commit: rev},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolve(tt.ldTag, tt.ldCommt, tt.bi)
			if got.Version() != tt.version || got.String() != tt.line || got.Commit != tt.commit {
				t.Fatalf("resolve = %+v: Version %q String %q; want %q, %q, commit %q", got, got.Version(), got.String(), tt.version, tt.line, tt.commit)
			}
		})
	}
}
