package winsvc

import (
	"maps"
	"slices"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/winnet"
)

// Conflicts warns about installing tunnel f beside the others: the
// warnings of winnet.Conflicts (both claiming a default route of a family,
// overlapping AllowedIPs, a kill switch that blocks the other's traffic),
// the same ones the tunnel service logs when it starts and the manager
// shows, that involve f. Several tunnels at once are allowed; these are
// warnings. A configuration Windows could not plan is left to the service,
// which says why when it starts.
func Conflicts(name string, f *conf.File, others map[string]*conf.File) []string {
	mine, err := winnet.NewPlan(name, f, winnet.Options{})
	if err != nil {
		return nil
	}
	plans := []*winnet.Plan{mine}
	for _, n := range slices.Sorted(maps.Keys(others)) {
		if p, err := winnet.NewPlan(n, others[n], winnet.Options{}); err == nil {
			plans = append(plans, p)
		}
	}
	var out []string
	for _, w := range winnet.Conflicts(plans) {
		if slices.Contains(w.Tunnels, name) {
			out = append(out, w.String())
		}
	}
	return out
}
