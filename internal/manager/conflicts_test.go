package manager_test

import (
	"context"
	"testing"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

func TestConflicts(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.m.Import("full0", []byte(config(newKey(t), 1, "", newKey(t), "0.0.0.0/0, 10.1.0.0/16")))
	f.m.Import("full1", []byte(config(newKey(t), 2, "", newKey(t), "0.0.0.0/0")))
	f.m.Import("split", []byte(config(newKey(t), 3, "", newKey(t), "10.1.2.0/24")))
	f.m.Import("off", []byte(config(newKey(t), 4, "", newKey(t), "0.0.0.0/0")+"[Interface]\nTable = off\n"))

	// Nothing runs: nothing conflicts yet, but activating full1 would.
	if ws, _ := f.m.Warnings(); len(ws) != 0 {
		t.Errorf("warnings with nothing running: %+v", ws)
	}
	if _, err := f.m.Activate(ctx, "full0"); err != nil {
		t.Fatal(err)
	}
	ws, err := f.m.WarningsFor("full1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 || ws[0].Kind != "default-route-ipv4" || ws[0].Message == "" {
		t.Errorf("full1 against full0: %+v", ws)
	}
	res, err := f.m.Activate(ctx, "split")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Kind != "overlapping-allowed-ips" ||
		res.Warnings[0].Prefixes[0].String() != "10.1.0.0/16" || res.Warnings[0].Prefixes[1].String() != "10.1.2.0/24" {
		t.Errorf("activating split: %+v", res.Warnings)
	}
	// Table = off routes nothing: it claims the default route only in
	// the device, which is no conflict of routes.
	if ws, _ := f.m.WarningsFor("off"); len(ws) != 0 {
		t.Errorf("Table = off: %+v", ws)
	}
	// An interface without a configuration counts with what it routes.
	f.sys.AddDevice("ext0", &wgtypes.Device{Peers: []wgtypes.Peer{{AllowedIPs: []netipPrefix{mustPrefix("10.1.2.128/25")}}}})
	ws, _ = f.m.Warnings()
	kinds := map[string]int{}
	for _, w := range ws {
		kinds[w.Kind]++
		if w.Kind == "kill-switch" {
			t.Errorf("a kill-switch warning on Linux: %+v", w)
		}
	}
	if kinds["overlapping-allowed-ips"] != 3 {
		t.Errorf("running warnings %+v, want 3 overlaps (full0/split, full0/ext0, split/ext0)", ws)
	}
}
