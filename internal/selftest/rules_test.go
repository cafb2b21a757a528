package selftest

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/winnet"
)

func killSwitchPlan() []winnet.Rule {
	return winnet.KillSwitch(winnet.KillSwitchParams{
		Owner:     "S-1-5-21-1-2-3-1001",
		Endpoints: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:51820")},
	})
}

func TestCompareRulesEqual(t *testing.T) {
	plan := killSwitchPlan()
	// Read back in another order, conditions shuffled.
	back := slices.Clone(plan)
	slices.Reverse(back)
	for i := range back {
		back[i].Conditions = slices.Clone(back[i].Conditions)
		slices.Reverse(back[i].Conditions)
	}
	if diff := compareRules(plan, back); len(diff) > 0 {
		t.Errorf("same rules reordered differ:\n%s", strings.Join(diff, "\n"))
	}
}

func TestCompareRulesDifferences(t *testing.T) {
	plan := killSwitchPlan()
	for _, tc := range []struct {
		name   string
		change func([]winnet.Rule) []winnet.Rule
		want   []string
	}{
		{"missing rule", func(rs []winnet.Rule) []winnet.Rule { return rs[1:] }, []string{"missing: " + plan[0].String()}},
		{"extra rule", func(rs []winnet.Rule) []winnet.Rule { return append(rs, plan[0]) }, []string{"unexpected: " + plan[0].String()}},
		{"weight", func(rs []winnet.Rule) []winnet.Rule { rs[0].Weight--; return rs }, []string{"missing: ", "unexpected: "}},
		{"hard permit lost", func(rs []winnet.Rule) []winnet.Rule { rs[0].Flags = 0; return rs }, []string{"clear-action-right"}},
		{"action", func(rs []winnet.Rule) []winnet.Rule { rs[len(rs)-1].Action = winnet.Permit; return rs }, []string{"missing: ", "block untunneled traffic"}},
		{"condition value", func(rs []winnet.Rule) []winnet.Rule {
			for i, r := range rs {
				for j, c := range r.Conditions {
					if c.Field == winnet.FieldRemotePort {
						rs[i].Conditions = slices.Clone(r.Conditions)
						rs[i].Conditions[j].Value++
						return rs
					}
				}
			}
			t.Fatal("no rule with a remote port")
			return nil
		}, []string{"remote-port="}},
		{"owner", func(rs []winnet.Rule) []winnet.Rule {
			rs[0].Conditions = slices.Clone(rs[0].Conditions)
			for j, c := range rs[0].Conditions {
				if c.Field == winnet.FieldOwnerSID {
					rs[0].Conditions[j].SID = "S-1-5-18"
				}
			}
			return rs
		}, []string{"owner-sid=S-1-5-18"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			back := tc.change(slices.Clone(plan))
			diff := compareRules(plan, back)
			if len(diff) == 0 {
				t.Fatal("no difference reported")
			}
			all := strings.Join(diff, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("diff does not mention %q:\n%s", w, all)
				}
			}
		})
	}
}

// TestCompareRulesDuplicates: a rule installed twice is a difference.
func TestCompareRulesDuplicates(t *testing.T) {
	plan := killSwitchPlan()
	back := append(slices.Clone(plan), plan[3])
	diff := compareRules(plan, back)
	if len(diff) != 1 || !strings.HasPrefix(diff[0], "unexpected: ") {
		t.Errorf("duplicate: %q", diff)
	}
}
