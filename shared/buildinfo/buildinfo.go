// Package buildinfo names the running build: the version stamped with
// -ldflags, or else what the Go toolchain recorded (the module version of an
// installed binary, the VCS revision of a build from a checkout).
package buildinfo

import "runtime/debug"

// Version is stamped unless it is "" or "dev"; otherwise the module version
// (go install …@v1.2.3), the VCS revision (go build in a checkout, with
// "-dirty" for uncommitted changes), or "dev".
func Version(stamped string) string {
	bi, ok := debug.ReadBuildInfo()
	return fromBuildInfo(stamped, bi, ok)
}

func fromBuildInfo(stamped string, bi *debug.BuildInfo, ok bool) string {
	if stamped != "" && stamped != "dev" {
		return stamped
	}
	if !ok || bi == nil {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}
