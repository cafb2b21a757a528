// Package buildinfo says which warren a binary is: its version and the
// commit it was built from. A release build sets both with the linker
// (scripts/release.sh: -ldflags "-X ...buildinfo.version=... -X
// ...buildinfo.commit=..."); any other build falls back on what the Go
// toolchain recorded (runtime/debug.ReadBuildInfo: the main module's
// version, vcs.revision and vcs.modified). It imports nothing of warren's.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Base is the version of this source tree; a release appends the UTC
// date and time of its commit (0.1.0+20261126075300), a development build
// appends "-dev". scripts/release.sh reads this line.
const Base = "0.1.0"

// Set by the release build through -ldflags -X; empty otherwise.
var (
	version  string // e.g. 0.1.0+20261126075300
	commit   string // the full commit hash
	modified string // "true" when built from a tree with uncommitted changes
)

// Info is what a binary knows about its own build.
type Info struct {
	// Version has no leading "v": 0.1.0+20261126075300 for a release,
	// the module version for a build of a tagged module, or Base+"-dev".
	Version string
	// Commit is the full commit hash, or "" when the build did not record one.
	Commit string
	// Modified says the tree had uncommitted changes when it was built.
	Modified bool
	// GoVersion is the toolchain that built the binary (go1.26.8).
	GoVersion string
	// Platform is GOOS/GOARCH.
	Platform string
}

// Read returns this binary's build information.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(version, commit, modified, bi)
}

// resolve prefers the values the release build set with the linker and
// fills in the rest from the toolchain's record (bi may be nil).
func resolve(ldVersion, ldCommit, ldModified string, bi *debug.BuildInfo) Info {
	info := Info{
		Version:   strings.TrimPrefix(ldVersion, "v"),
		Commit:    ldCommit,
		Modified:  ldModified == "true",
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		if info.Version == "" {
			if v := bi.Main.Version; v != "" && v != "(devel)" {
				info.Version = strings.TrimPrefix(v, "v")
			}
		}
		if ldCommit == "" {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					info.Commit = s.Value
				case "vcs.modified":
					info.Modified = s.Value == "true"
				}
			}
		}
	}
	if info.Version == "" {
		info.Version = Base + "-dev"
	}
	return info
}

// String is the text of `warren version`: the version line that
// `warren daemon --version` also starts with, the commit, the toolchain.
func (i Info) String() string {
	c := i.Commit
	if c == "" {
		c = "unknown"
	}
	if i.Modified {
		c += " (modified)"
	}
	return fmt.Sprintf("warren v%s\ncommit %s\nbuilt with %s for %s\n", i.Version, c, i.GoVersion, i.Platform)
}
