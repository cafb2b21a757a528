package selftest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/warren-vpn/warren/internal/winnet"
)

// compareRules compares the kill switch's planned rules with those read
// back from the firewall, as multisets: order does not matter, nor the
// order of a rule's conditions, but every field of every rule does (name,
// layer, action, weight, flags, conditions). It returns one line per
// difference, "missing: RULE" for a planned rule not installed and
// "unexpected: RULE" for an installed rule not planned; none when they
// agree.
func compareRules(planned, installed []winnet.Rule) []string {
	key := func(r winnet.Rule) string {
		cs := make([]string, len(r.Conditions))
		for i, c := range r.Conditions {
			cs[i] = c.String()
		}
		slices.Sort(cs)
		return fmt.Sprintf("%v|%v|%d|%v|%q|%s", r.Layer, r.Action, r.Weight, r.Flags, r.Name, strings.Join(cs, " "))
	}
	count := map[string]int{}
	byKey := map[string]winnet.Rule{}
	for _, r := range planned {
		k := key(r)
		count[k]++
		byKey[k] = r
	}
	for _, r := range installed {
		k := key(r)
		count[k]--
		byKey[k] = r
	}
	var keys []string
	for k, n := range count {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b string) int {
		ra, rb := byKey[a], byKey[b]
		return cmp.Or(cmp.Compare(ra.Layer, rb.Layer), cmp.Compare(rb.Weight, ra.Weight), strings.Compare(a, b))
	})
	var diff []string
	for _, k := range keys {
		r := byKey[k]
		for n := count[k]; n > 0; n-- {
			diff = append(diff, "missing: "+r.String())
		}
		for n := count[k]; n < 0; n++ {
			diff = append(diff, "unexpected: "+r.String())
		}
	}
	return diff
}
