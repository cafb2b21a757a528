//go:build windows

package winnet

import (
	"errors"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

// readBackRules is a kill switch with every kind of condition: owner SID,
// endpoints of both families, DNS servers of both families.
func readBackRules(t *testing.T) ([]Rule, map[string]*fwpByteBlob) {
	t.Helper()
	rules := KillSwitch(KillSwitchParams{
		Owner:     ServiceSID("WarrenTunnel$readback"),
		DNS:       []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")},
		Endpoints: []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:51820"), netip.MustParseAddrPort("[2001:db8::1]:51820")},
	})
	sds, err := ownerDescriptors(rules, func(*windows.SID) (bool, error) { return true, nil })
	if err != nil {
		t.Fatal(err)
	}
	return rules, sds
}

// TestRuleFromFilterRoundTrip: every rule of the kill switch, translated
// into the structure FwpmFilterAdd0 takes (buildFilter) and back
// (ruleFromFilter), is the rule again.
func TestRuleFromFilterRoundTrip(t *testing.T) {
	rules, sds := readBackRules(t)
	appID := []byte("\\\x00d\x00e\x00v\x00\\\x00w\x00.\x00e\x00x\x00e\x00\x00\x00")
	app := &fwpByteBlob{size: uint32(len(appID)), data: &appID[0]}
	const luid = 0xfeed0001
	seen := map[Field]bool{}
	for _, r := range rules {
		var pins runtime.Pinner
		f, err := buildFilter(sublayerKey("rb"), r, luid, app, sds, &pins)
		if err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		got, err := ruleFromFilter(f, luid, appID)
		pins.Unpin()
		if err != nil {
			t.Errorf("%v: %v", r, err)
			continue
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("read back\n  %v\nwant\n  %v", got, r)
		}
		for _, c := range r.Conditions {
			seen[c.Field] = true
		}
	}
	for f := FieldTunnelInterface; f <= FieldICMPCode; f++ {
		if !seen[f] {
			t.Errorf("no rule has a %v condition: the round trip misses it", f)
		}
	}
}

// TestRuleFromFilterRefuses: a filter that is not what the plan would
// install — another adapter, another program, a flag, weight or condition
// the kill switch never uses — is reported, not silently translated.
func TestRuleFromFilterRefuses(t *testing.T) {
	rules, sds := readBackRules(t)
	appID := []byte("a\x00\x00\x00")
	app := &fwpByteBlob{size: uint32(len(appID)), data: &appID[0]}
	const luid = 7
	find := func(field Field) Rule {
		for _, r := range rules {
			for _, c := range r.Conditions {
				if c.Field == field {
					return r
				}
			}
		}
		t.Fatalf("no rule with %v", field)
		return Rule{}
	}
	for _, tc := range []struct {
		name   string
		rule   Rule
		mutate func(f *fwpmFilter0)
		luid   uint64
		appID  []byte
		want   string
	}{
		{name: "other adapter", rule: find(FieldTunnelInterface), luid: 8, appID: appID, want: "not the tunnel adapter's"},
		{name: "other program", rule: find(FieldOwnApp), luid: luid, appID: []byte("b\x00\x00\x00"), want: "not this executable's"},
		{name: "unknown flag", rule: rules[0], luid: luid, appID: appID, mutate: func(f *fwpmFilter0) { f.flags |= 0x40 }, want: "filter flags 0x40"},
		{name: "weight type", rule: rules[0], luid: luid, appID: appID, mutate: func(f *fwpmFilter0) { f.weight.typ = fwpUint64 }, want: "weight"},
		{name: "action", rule: rules[0], luid: luid, appID: appID, mutate: func(f *fwpmFilter0) { f.action.typ = 0x5003 }, want: "action"},
		{name: "layer", rule: rules[0], luid: luid, appID: appID, mutate: func(f *fwpmFilter0) { f.layerKey = guid("00000000-0000-0000-0000-000000000001") }, want: "layer"},
		{name: "unknown condition", rule: find(FieldProtocol), luid: luid, appID: appID, mutate: func(f *fwpmFilter0) {
			unsafe.Slice(f.filterCondition, f.numFilterConditions)[0].fieldKey = guid("00000000-0000-0000-0000-000000000002")
		}, want: "not one the kill switch uses"},
		{name: "match type", rule: find(FieldProtocol), luid: luid, appID: appID, mutate: func(f *fwpmFilter0) {
			for i, c := range unsafe.Slice(f.filterCondition, f.numFilterConditions) {
				if c.fieldKey == conditionProtocol {
					unsafe.Slice(f.filterCondition, f.numFilterConditions)[i].matchType = 1
				}
			}
		}, want: "match type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pins runtime.Pinner
			defer pins.Unpin()
			f, err := buildFilter(sublayerKey("rb"), tc.rule, luid, app, sds, &pins)
			if err != nil {
				t.Fatal(err)
			}
			if tc.mutate != nil {
				tc.mutate(f)
			}
			_, err = ruleFromFilter(f, tc.luid, tc.appID)
			if !errors.Is(err, ErrFilterUnreadable) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.rule.Name) {
				t.Errorf("got %v, want ErrFilterUnreadable naming %q and saying %q", err, tc.rule.Name, tc.want)
			}
		})
	}
}

// TestPrefixFromMasks reads the address encodings back, and refuses a
// mask with holes.
func TestPrefixFromMasks(t *testing.T) {
	for _, p := range []string{"192.0.2.7/32", "10.0.0.0/8", "0.0.0.0/0", "128.0.0.0/1", "2001:db8::1/128", "fe80::/10", "::/0"} {
		var pins runtime.Pinner
		v, err := addrValue(netip.MustParsePrefix(p), func(ptr unsafe.Pointer) uintptr { pins.Pin(ptr); return uintptr(ptr) })
		if err != nil {
			t.Fatal(err)
		}
		got, err := prefixFrom(&v)
		pins.Unpin()
		if err != nil || got.String() != p {
			t.Errorf("%s read back as %v, %v", p, got, err)
		}
	}
	m := fwpV4AddrAndMask{addr: 0x0a000000, mask: 0xff00ff00}
	v := fwpValue0{typ: fwpV4AddrMask}
	*(*unsafe.Pointer)(unsafe.Pointer(&v.value)) = unsafe.Pointer(&m)
	if _, err := prefixFrom(&v); err == nil {
		t.Error("mask with a hole accepted")
	}
	runtime.KeepAlive(&m)
}

// TestOwnerFromDescriptor reads the owner back out of the descriptor
// ownerDescriptors builds, and refuses one that grants more.
func TestOwnerFromDescriptor(t *testing.T) {
	owner := ServiceSID("WarrenTunnel$owner")
	sd, err := windows.SecurityDescriptorFromString(ownerSDDL(owner))
	if err != nil {
		t.Fatal(err)
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(sd)), sd.Length())
	if got, err := ownerFromDescriptor(b); err != nil || got != owner {
		t.Errorf("owner %q, %v; want %s", got, err, owner)
	}
	sd2, err := windows.SecurityDescriptorFromString("D:(A;;0x1;;;" + owner + ")(A;;0x1;;;WD)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ownerFromDescriptor(unsafe.Slice((*byte)(unsafe.Pointer(sd2)), sd2.Length())); err == nil {
		t.Error("a descriptor that also lets Everyone match was accepted")
	}
}

// TestRuleFromFilterReadsDeclaredWidth: FWP_VALUE0 holds an FWP_UINT8,
// FWP_UINT16 or FWP_UINT32 in the first bytes of its 8-byte union; the
// rest is not part of the value, and memory the filter engine hands back
// need not have it zeroed. The read-back looks only at the value's own
// width, as C reading value.uint8 does.
func TestRuleFromFilterReadsDeclaredWidth(t *testing.T) {
	rules, sds := readBackRules(t)
	appID := []byte("a\x00\x00\x00")
	app := &fwpByteBlob{size: uint32(len(appID)), data: &appID[0]}
	const luid = 9
	dirty := func(v *fwpValue0) {
		switch v.typ {
		case fwpUint8:
			v.value |= 0xdeadbeef_c0ffee00
		case fwpUint16:
			v.value |= 0xdeadbeef_c0ff0000
		case fwpUint32:
			v.value |= 0xdeadbeef_00000000
		}
	}
	for _, r := range rules {
		var pins runtime.Pinner
		f, err := buildFilter(sublayerKey("rb"), r, luid, app, sds, &pins)
		if err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		dirty(&f.weight)
		for i := range unsafe.Slice(f.filterCondition, f.numFilterConditions) {
			dirty(&unsafe.Slice(f.filterCondition, f.numFilterConditions)[i].conditionValue)
		}
		got, err := ruleFromFilter(f, luid, appID)
		pins.Unpin()
		if err != nil {
			t.Errorf("%v: %v", r, err)
			continue
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("read back\n  %v\nwant\n  %v", got, r)
		}
	}
}
