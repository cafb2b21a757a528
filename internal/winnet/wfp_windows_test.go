//go:build windows

package winnet

import (
	"errors"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

func TestV4AddrMask(t *testing.T) {
	for _, tc := range []struct {
		p          string
		addr, mask uint32
	}{
		{"192.0.2.7/32", 0xc0000207, 0xffffffff},
		{"10.1.2.3/8", 0x0a000000, 0xff000000},
		{"0.0.0.0/0", 0, 0},
		{"128.0.0.0/1", 0x80000000, 0x80000000},
	} {
		m := v4AddrMask(netip.MustParsePrefix(tc.p))
		if m.addr != tc.addr || m.mask != tc.mask {
			t.Errorf("v4AddrMask(%s) = %#x/%#x, want %#x/%#x", tc.p, m.addr, m.mask, tc.addr, tc.mask)
		}
	}
}

func TestSublayerKey(t *testing.T) {
	a1, a2, b := sublayerKey("a"), sublayerKey("a"), sublayerKey("b")
	if a1 != a2 || a1 == b {
		t.Error("sublayer keys are not a function of the tunnel name")
	}
}

// currentUserSID is the SID of the user running the test.
func currentUserSID(t *testing.T) string {
	t.Helper()
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	return u.User.Sid.String()
}

// TestOwnerDescriptors: the owner's condition value is a security
// descriptor granting FWP_ACTRL_MATCH_FILTER to the owner alone, and an
// owner the process does not run as is refused before anything is
// installed.
func TestOwnerDescriptors(t *testing.T) {
	owner := ServiceSID("WarrenTunnel$test")
	rules := KillSwitch(KillSwitchParams{Owner: owner, Endpoints: []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:51820")}})
	yes := func(*windows.SID) (bool, error) { return true, nil }
	sds, err := ownerDescriptors(rules, yes)
	if err != nil {
		t.Fatal(err)
	}
	if len(sds) != 1 || sds[owner] == nil {
		t.Fatalf("descriptors for %v, want one for %s", sds, owner)
	}
	blob := sds[owner]
	sd := (*windows.SECURITY_DESCRIPTOR)(unsafe.Pointer(blob.data))
	if blob.size != sd.Length() || blob.size == 0 {
		t.Errorf("blob size %d, descriptor length %d", blob.size, sd.Length())
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		t.Fatal(err)
	}
	if dacl.AceCount != 1 {
		t.Fatalf("DACL has %d entries, want 1", dacl.AceCount)
	}
	var ace *windows.ACCESS_ALLOWED_ACE
	if err := windows.GetAce(dacl, 0, &ace); err != nil {
		t.Fatal(err)
	}
	sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
	if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Mask != 0x1 || sid.String() != owner {
		t.Errorf("ACE type %d mask %#x for %s, want allow 0x1 (FWP_ACTRL_MATCH_FILTER) for %s", ace.Header.AceType, ace.Mask, sid, owner)
	}

	no := func(*windows.SID) (bool, error) { return false, nil }
	if _, err := ownerDescriptors(rules, no); !errors.Is(err, ErrNoOwner) {
		t.Errorf("owner not in the token: %v, want ErrNoOwner", err)
	}
	if _, err := ownerDescriptors(KillSwitch(KillSwitchParams{}), yes); !errors.Is(err, ErrNoOwner) {
		t.Errorf("no owner: %v, want ErrNoOwner", err)
	}
	if _, err := ownerDescriptors(KillSwitch(KillSwitchParams{Owner: "S-1-5-18)(A;;GA;;;WD"}), yes); !errors.Is(err, ErrSID) {
		t.Errorf("malformed owner: %v, want ErrSID", err)
	}
}

// TestTokenHolds asks the real token: it holds the running user's SID and
// not a service SID of a service it is not.
func TestTokenHolds(t *testing.T) {
	for sid, want := range map[string]bool{currentUserSID(t): true, ServiceSID("WarrenTunnel$not-this-process"): false} {
		s, err := windows.StringToSid(sid)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := tokenHolds(s); err != nil || got != want {
			t.Errorf("tokenHolds(%s) = %v, %v; want %v", sid, got, err, want)
		}
	}
}

// TestBuildFilter checks the translation of every kind of condition, the
// flags and the actions into the structures FwpmFilterAdd0 reads.
func TestBuildFilter(t *testing.T) {
	owner := ServiceSID("WarrenTunnel$test")
	rules := KillSwitch(KillSwitchParams{Owner: owner, DNS: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")},
		Endpoints: []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:51820")}})
	sds, err := ownerDescriptors(rules, func(*windows.SID) (bool, error) { return true, nil })
	if err != nil {
		t.Fatal(err)
	}
	app := &fwpByteBlob{size: 4, data: &[]byte("app\x00")[0]}
	sub := sublayerKey("test")
	const luid = 0x1234
	seen := map[Field]bool{}
	for _, r := range rules {
		var pins runtime.Pinner
		f, err := buildFilter(sub, r, luid, app, sds, &pins)
		if err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		if f.layerKey != layerKeys[r.Layer] || f.subLayerKey != sub || f.weight.typ != fwpUint8 || f.weight.value != uintptr(r.Weight) {
			t.Errorf("%v: layer, sublayer or weight wrong", r)
		}
		if wantFlags := map[bool]uint32{true: fwpmFilterFlagClearActionRight}[r.Flags&FlagClearActionRight != 0]; f.flags != wantFlags {
			t.Errorf("%v: flags %#x, want %#x", r, f.flags, wantFlags)
		}
		if wantAction := map[Action]uint32{Permit: fwpActionPermit, Block: fwpActionBlock}[r.Action]; f.action.typ != wantAction {
			t.Errorf("%v: action %#x, want %#x", r, f.action.typ, wantAction)
		}
		if name := windows.UTF16PtrToString(f.displayData.name); name != r.Name {
			t.Errorf("display name %q, want %q", name, r.Name)
		}
		if int(f.numFilterConditions) != len(r.Conditions) {
			t.Fatalf("%v: %d conditions, want %d", r, f.numFilterConditions, len(r.Conditions))
		}
		conds := unsafe.Slice(f.filterCondition, f.numFilterConditions)
		for i, c := range r.Conditions {
			seen[c.Field] = true
			checkCondition(t, r, c, conds[i], luid, app, sds[owner])
		}
		pins.Unpin()
	}
	for f := FieldTunnelInterface; f <= FieldICMPCode; f++ {
		if !seen[f] {
			t.Errorf("no rule of the kill switch has a %v condition; the test misses it", f)
		}
	}
	var pins runtime.Pinner
	defer pins.Unpin()
	if _, err := buildFilter(sub, Rule{Name: "x", Layer: LayerConnectV4, Action: Permit, Conditions: []Condition{{Field: FieldOwnerSID, SID: "S-1-5-18"}}}, luid, app, sds, &pins); !errors.Is(err, ErrNoOwner) {
		t.Errorf("owner without a descriptor: %v, want ErrNoOwner", err)
	}
	if _, err := buildFilter(sub, Rule{Name: "x", Layer: LayerConnectV4, Action: Permit, Flags: 1 << 7}, luid, app, sds, &pins); err == nil {
		t.Error("unknown flag accepted")
	}
}

// valuePtr is the pointer a condition value holds (the union read as a
// pointer, as the filter engine reads it).
func valuePtr(v *fwpValue0) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&v.value)) }

func checkCondition(t *testing.T, r Rule, c Condition, fc fwpmFilterCondition0, luid uint64, app, sd *fwpByteBlob) {
	t.Helper()
	v := fc.conditionValue
	type want struct {
		key       windows.GUID
		match, ty uint32
	}
	var w want
	switch c.Field {
	case FieldTunnelInterface:
		w = want{conditionLocalInterface, fwpMatchEqual, fwpUint64}
		if *(*uint64)(valuePtr(&v)) != luid {
			t.Errorf("%v: interface LUID %#x", r, *(*uint64)(valuePtr(&v)))
		}
	case FieldOwnApp:
		w = want{conditionAppID, fwpMatchEqual, fwpByteBlobType}
		if (*fwpByteBlob)(valuePtr(&v)) != app {
			t.Errorf("%v: not the application ID", r)
		}
	case FieldOwnerSID:
		w = want{conditionUserID, fwpMatchEqual, fwpSecurityDescriptorType}
		if (*fwpByteBlob)(valuePtr(&v)) != sd {
			t.Errorf("%v: not the owner's security descriptor", r)
		}
	case FieldLoopback:
		w = want{conditionFlags, fwpMatchFlagsAllSet, fwpUint32}
		if v.value != fwpConditionFlagIsLoopback {
			t.Errorf("%v: flags %#x", r, v.value)
		}
	case FieldProtocol:
		w = want{conditionProtocol, fwpMatchEqual, fwpUint8}
	case FieldRemotePort, FieldICMPCode:
		w = want{conditionRemotePort, fwpMatchEqual, fwpUint16}
	case FieldLocalPort, FieldICMPType:
		w = want{conditionLocalPort, fwpMatchEqual, fwpUint16}
	case FieldRemoteAddr, FieldLocalAddr:
		key := conditionRemoteAddress
		if c.Field == FieldLocalAddr {
			key = conditionLocalAddress
		}
		p := c.Prefix
		switch {
		case p.Addr().Is4() && p.Bits() == 32:
			w = want{key, fwpMatchEqual, fwpUint32}
			if v.value != uintptr(v4AddrMask(p).addr) {
				t.Errorf("%v: address %#x", r, v.value)
			}
		case p.Addr().Is4():
			w = want{key, fwpMatchEqual, fwpV4AddrMask}
			if *(*fwpV4AddrAndMask)(valuePtr(&v)) != v4AddrMask(p) {
				t.Errorf("%v: address and mask wrong", r)
			}
		case p.Bits() == 128:
			w = want{key, fwpMatchEqual, fwpByteArray16Type}
			if (*fwpByteArray16)(valuePtr(&v)).byteArray16 != p.Addr().As16() {
				t.Errorf("%v: address wrong", r)
			}
		default:
			w = want{key, fwpMatchEqual, fwpV6AddrMask}
			m := *(*fwpV6AddrAndMask)(valuePtr(&v))
			if m.addr != p.Addr().As16() || int(m.prefixLength) != p.Bits() {
				t.Errorf("%v: address and prefix length wrong", r)
			}
		}
	}
	if c.Field == FieldProtocol || c.Field == FieldRemotePort || c.Field == FieldICMPCode || c.Field == FieldLocalPort || c.Field == FieldICMPType {
		if v.value != uintptr(c.Value) {
			t.Errorf("%v: %v value %d, want %d", r, c.Field, v.value, c.Value)
		}
	}
	if fc.fieldKey != w.key || fc.matchType != w.match || v.typ != w.ty {
		t.Errorf("%v: condition %v as field %v match %d type %d; want %v %d %d", r, c, fc.fieldKey, fc.matchType, v.typ, w.key, w.match, w.ty)
	}
}

// TestOpenFirewall installs the kill switch where the filter engine is
// reachable (an elevated Windows test run) and closes it again; elsewhere
// (wine, no rights) it must fail cleanly with an error. The owner is the
// user running the test, as for a tunnel run outside a service.
func TestOpenFirewall(t *testing.T) {
	rules := KillSwitch(KillSwitchParams{Owner: currentUserSID(t), DNS: []netip.Addr{netip.MustParseAddr("10.0.0.1")},
		Endpoints: []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:51820")}})
	fw, err := openFirewall("warren-test", 1, rules)
	if err != nil {
		if errors.Is(err, ErrNoOwner) || errors.Is(err, ErrSID) || strings.Contains(err.Error(), "add rule") {
			t.Fatalf("openFirewall: %v", err) // a mistake of ours, not a missing engine
		}
		t.Skipf("filter engine not usable here: %v", err)
	}
	if err := fw.close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// TestOpenFirewallRefusesStrangers: a kill switch whose owner the process
// does not run as would cut the tunnel off; it is refused before the
// filter engine is touched.
func TestOpenFirewallRefusesStrangers(t *testing.T) {
	for _, owner := range []string{"", ServiceSID("WarrenTunnel$not-this-process")} {
		_, err := openFirewall("warren-test", 1, KillSwitch(KillSwitchParams{Owner: owner}))
		if !errors.Is(err, ErrNoOwner) {
			t.Errorf("owner %q: %v, want ErrNoOwner", owner, err)
		}
	}
}
