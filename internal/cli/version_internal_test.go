package cli

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

// The commit omq version prints: the ldflag wins (container builds have no
// .git), else the toolchain's vcs stamp, shortened and marked dirty.
func TestCommit(t *testing.T) {
	t.Parallel()
	stamp := func(kv ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{}
		for i := 0; i < len(kv); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return bi
	}
	rev := "0123456789abcdef0123456789abcdef01234567"
	for _, c := range []struct {
		name, ldflag string
		bi           *debug.BuildInfo
		want         string
	}{
		{"clean tree", "", stamp("vcs.revision", rev, "vcs.modified", "false"), "0123456789ab"},
		{"dirty tree", "", stamp("vcs.revision", rev, "vcs.modified", "true"), "0123456789ab-dirty"},
		{"ldflag wins", "feedbeef", stamp("vcs.revision", rev), "feedbeef"},
		{"no stamp", "", stamp(), "unknown"},
		{"no build info", "", nil, "unknown"},
	} {
		require.Equal(t, c.want, commit(c.ldflag, c.bi), c.name)
	}
}
