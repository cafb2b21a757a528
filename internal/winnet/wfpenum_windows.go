//go:build windows

package winnet

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Reading a tunnel's kill switch back: the filters of its WFP sublayer,
// enumerated from the base filtering engine in a session of our own and
// translated back into Rules, so that a diagnostic (`warren selftest`) can
// compare what Windows enforces with the plan. ruleFromFilter is the
// inverse of buildFilter; wfpenum_windows_test.go runs every kill-switch
// rule through both.

var (
	procFwpmFilterCreateEnumHandle0  = modfwpuclnt.NewProc("FwpmFilterCreateEnumHandle0")
	procFwpmFilterEnum0              = modfwpuclnt.NewProc("FwpmFilterEnum0")
	procFwpmFilterDestroyEnumHandle0 = modfwpuclnt.NewProc("FwpmFilterDestroyEnumHandle0")
)

const (
	fwpFilterEnumOverlapping = 1          // FWP_FILTER_ENUM_OVERLAPPING
	fwpActionMaskAll         = 0xffffffff // every action type
	// enumBatch is how many filters one FwpmFilterEnum0 call asks for.
	enumBatch = 256
)

// fwpmFilterEnumTemplate0 is FWPM_FILTER_ENUM_TEMPLATE0 (64-bit layout).
type fwpmFilterEnumTemplate0 struct {
	providerKey             *windows.GUID
	layerKey                windows.GUID
	enumType                uint32
	flags                   uint32
	providerContextTemplate unsafe.Pointer
	numFilterConditions     uint32
	filterCondition         *fwpmFilterCondition0
	actionMask              uint32
	calloutKey              *windows.GUID
}

// Layout checks against fwpmtypes.h (64-bit).
var (
	_ [8]byte  = [unsafe.Offsetof(fwpmFilterEnumTemplate0{}.layerKey)]byte{}
	_ [24]byte = [unsafe.Offsetof(fwpmFilterEnumTemplate0{}.enumType)]byte{}
	_ [32]byte = [unsafe.Offsetof(fwpmFilterEnumTemplate0{}.providerContextTemplate)]byte{}
	_ [48]byte = [unsafe.Offsetof(fwpmFilterEnumTemplate0{}.filterCondition)]byte{}
	_ [56]byte = [unsafe.Offsetof(fwpmFilterEnumTemplate0{}.actionMask)]byte{}
	_ [72]byte = [unsafe.Sizeof(fwpmFilterEnumTemplate0{})]byte{}
)

// ErrFilterUnreadable is wrapped for an installed filter that does not
// translate back into a Rule (a condition, flag, weight or action the
// kill switch never installs, or one naming another interface or program).
var ErrFilterUnreadable = errors.New("filter does not translate back into a rule")

// InstalledRules reads the filters of the tunnel's sublayer back from the
// filter engine, layer by layer, and translates them into Rules for the
// adapter luid and the running executable; compare them with the plan's
// Firewall (order aside). Filters that do not translate are left out and
// named in the error (wrapping ErrFilterUnreadable), alongside the rules
// that did. Needs Administrator; reads only.
func InstalledRules(tunnel string, luid uint64) ([]Rule, error) {
	session := fwpmSession0{txnWaitTimeoutInMSec: windows.INFINITE}
	var engine windows.Handle
	if err := fwpCall(procFwpmEngineOpen0, 0, rpcCAuthnWinNT, 0, uintptr(unsafe.Pointer(&session)), uintptr(unsafe.Pointer(&engine))); err != nil {
		return nil, fmt.Errorf("read the firewall of %s: open filter engine: %w", tunnel, err)
	}
	defer fwpCall(procFwpmEngineClose0, uintptr(engine))
	app, err := ownAppID()
	if err != nil {
		return nil, fmt.Errorf("read the firewall of %s: %w", tunnel, err)
	}
	defer fwpFree(unsafe.Pointer(app))
	appID := bytes.Clone(blobBytes(app))

	sub := sublayerKey(tunnel)
	var rules []Rule
	var problems []error
	for _, l := range []Layer{LayerConnectV4, LayerRecvAcceptV4, LayerConnectV6, LayerRecvAcceptV6} {
		err := enumFilters(engine, layerKeys[l], func(f *fwpmFilter0) {
			if f.subLayerKey != sub {
				return
			}
			r, err := ruleFromFilter(f, luid, appID)
			if err != nil {
				problems = append(problems, err)
				return
			}
			rules = append(rules, r)
		})
		if err != nil {
			return nil, fmt.Errorf("read the firewall of %s at %v: %w", tunnel, l, err)
		}
	}
	return rules, errors.Join(problems...)
}

// enumFilters calls fn with every filter at the layer.
func enumFilters(engine windows.Handle, layer windows.GUID, fn func(*fwpmFilter0)) error {
	tmpl := fwpmFilterEnumTemplate0{layerKey: layer, enumType: fwpFilterEnumOverlapping, actionMask: fwpActionMaskAll}
	var enum windows.Handle
	if err := fwpCall(procFwpmFilterCreateEnumHandle0, uintptr(engine), uintptr(unsafe.Pointer(&tmpl)), uintptr(unsafe.Pointer(&enum))); err != nil {
		return err
	}
	defer fwpCall(procFwpmFilterDestroyEnumHandle0, uintptr(engine), uintptr(enum))
	for {
		var entries **fwpmFilter0
		var n uint32
		if err := fwpCall(procFwpmFilterEnum0, uintptr(engine), uintptr(enum), enumBatch, uintptr(unsafe.Pointer(&entries)), uintptr(unsafe.Pointer(&n))); err != nil {
			return err
		}
		if n > 0 && entries != nil {
			for _, f := range unsafe.Slice(entries, n) {
				fn(f)
			}
		}
		fwpFree(unsafe.Pointer(entries))
		if n < enumBatch {
			return nil
		}
	}
}

// OpenKillSwitch installs rules for the adapter luid in a dynamic WFP
// session of its own, as Apply does with a plan's Firewall, but leaves the
// adapter's IP configuration alone; remove takes them away again (and so
// does the process ending). For diagnostics that engage a kill switch on
// an adapter for a moment (`warren selftest --kill-switch`).
func OpenKillSwitch(tunnel string, luid uint64, rules []Rule) (remove func() error, err error) {
	fw, err := openFirewall(tunnel, luid, rules)
	if err != nil {
		return nil, err
	}
	return fw.close, nil
}

// pointerOf is the pointer a condition value's union holds.
func pointerOf(v *fwpValue0) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&v.value)) }

// scalarOf is the integer a value's union holds, read at the width its
// type declares (FWP_UINT8, FWP_UINT16, FWP_UINT32), as C reads
// value.uint8: the union's other bytes are not part of the value, and the
// filter engine need not zero them in what it hands back.
func scalarOf(v *fwpValue0) uint32 {
	switch v.typ {
	case fwpUint8:
		return uint32(*(*uint8)(unsafe.Pointer(&v.value)))
	case fwpUint16:
		return uint32(*(*uint16)(unsafe.Pointer(&v.value)))
	}
	return *(*uint32)(unsafe.Pointer(&v.value))
}

// blobBytes is the content of an FWP_BYTE_BLOB (not copied).
func blobBytes(b *fwpByteBlob) []byte {
	if b == nil || b.data == nil || b.size == 0 {
		return nil
	}
	return unsafe.Slice(b.data, b.size)
}

// ruleFromFilter translates an FWPM_FILTER0 as buildFilter makes them back
// into a Rule. The interface condition must name luid and the application
// condition the executable whose application ID is appID; anything
// buildFilter never produces is an error wrapping ErrFilterUnreadable.
func ruleFromFilter(f *fwpmFilter0, luid uint64, appID []byte) (Rule, error) {
	r := Rule{Name: windows.UTF16PtrToString(f.displayData.name)}
	bad := func(format string, args ...any) (Rule, error) {
		return Rule{}, fmt.Errorf("%w: filter %q: %s", ErrFilterUnreadable, r.Name, fmt.Sprintf(format, args...))
	}
	for l, key := range layerKeys {
		if f.layerKey == key {
			r.Layer = l
		}
	}
	if r.Layer == 0 {
		return bad("layer %v is not one the kill switch uses", f.layerKey)
	}
	switch f.action.typ {
	case fwpActionPermit:
		r.Action = Permit
	case fwpActionBlock:
		r.Action = Block
	default:
		return bad("action %#x", f.action.typ)
	}
	if f.weight.typ != fwpUint8 || scalarOf(&f.weight) > 15 {
		return bad("weight of type %d, value %d (want FWP_UINT8 0-15)", f.weight.typ, scalarOf(&f.weight))
	}
	r.Weight = uint8(scalarOf(&f.weight))
	if f.flags&fwpmFilterFlagClearActionRight != 0 {
		r.Flags |= FlagClearActionRight
	}
	if other := f.flags &^ fwpmFilterFlagClearActionRight; other != 0 {
		return bad("filter flags %#x", other)
	}
	var conds []fwpmFilterCondition0
	if f.numFilterConditions > 0 {
		if f.filterCondition == nil {
			return bad("%d conditions at a nil pointer", f.numFilterConditions)
		}
		conds = unsafe.Slice(f.filterCondition, f.numFilterConditions)
	}
	// ICMP carries its type and code in the port fields.
	icmp := false
	for i := range conds {
		if conds[i].fieldKey == conditionProtocol && conds[i].conditionValue.typ == fwpUint8 {
			p := scalarOf(&conds[i].conditionValue)
			icmp = p == ProtoICMP || p == ProtoICMPv6
		}
	}
	for i := range conds {
		c, err := conditionFrom(&conds[i], luid, appID, icmp)
		if err != nil {
			return bad("condition %d: %v", i, err)
		}
		r.Conditions = append(r.Conditions, c)
	}
	return r, nil
}

// conditionFrom translates one filter condition back.
func conditionFrom(fc *fwpmFilterCondition0, luid uint64, appID []byte, icmp bool) (Condition, error) {
	v := &fc.conditionValue
	want := func(match, typ uint32) error {
		if fc.matchType != match || v.typ != typ {
			return fmt.Errorf("field %v: match type %d, value type %d; want %d, %d", fc.fieldKey, fc.matchType, v.typ, match, typ)
		}
		return nil
	}
	port := func(plain, ic Field) (Condition, error) {
		if err := want(fwpMatchEqual, fwpUint16); err != nil {
			return Condition{}, err
		}
		if icmp {
			return Condition{Field: ic, Value: uint16(scalarOf(v))}, nil
		}
		return Condition{Field: plain, Value: uint16(scalarOf(v))}, nil
	}
	switch fc.fieldKey {
	case conditionLocalInterface:
		if err := want(fwpMatchEqual, fwpUint64); err != nil {
			return Condition{}, err
		}
		if got := *(*uint64)(pointerOf(v)); got != luid {
			return Condition{}, fmt.Errorf("interface LUID %#x is not the tunnel adapter's %#x", got, luid)
		}
		return Condition{Field: FieldTunnelInterface}, nil
	case conditionAppID:
		if err := want(fwpMatchEqual, fwpByteBlobType); err != nil {
			return Condition{}, err
		}
		if got := blobBytes((*fwpByteBlob)(pointerOf(v))); !bytes.Equal(got, appID) {
			return Condition{}, fmt.Errorf("application ID %q is not this executable's %q", appIDText(got), appIDText(appID))
		}
		return Condition{Field: FieldOwnApp}, nil
	case conditionUserID:
		if err := want(fwpMatchEqual, fwpSecurityDescriptorType); err != nil {
			return Condition{}, err
		}
		sid, err := ownerFromDescriptor(blobBytes((*fwpByteBlob)(pointerOf(v))))
		if err != nil {
			return Condition{}, err
		}
		return Condition{Field: FieldOwnerSID, SID: sid}, nil
	case conditionFlags:
		if err := want(fwpMatchFlagsAllSet, fwpUint32); err != nil {
			return Condition{}, err
		}
		if scalarOf(v) != fwpConditionFlagIsLoopback {
			return Condition{}, fmt.Errorf("condition flags %#x (want loopback, %#x)", scalarOf(v), fwpConditionFlagIsLoopback)
		}
		return Condition{Field: FieldLoopback}, nil
	case conditionProtocol:
		if err := want(fwpMatchEqual, fwpUint8); err != nil {
			return Condition{}, err
		}
		return Condition{Field: FieldProtocol, Value: uint16(scalarOf(v))}, nil
	case conditionRemotePort:
		return port(FieldRemotePort, FieldICMPCode)
	case conditionLocalPort:
		return port(FieldLocalPort, FieldICMPType)
	case conditionRemoteAddress, conditionLocalAddress:
		field := FieldRemoteAddr
		if fc.fieldKey == conditionLocalAddress {
			field = FieldLocalAddr
		}
		if fc.matchType != fwpMatchEqual {
			return Condition{}, fmt.Errorf("%v: match type %d", field, fc.matchType)
		}
		p, err := prefixFrom(v)
		if err != nil {
			return Condition{}, fmt.Errorf("%v: %w", field, err)
		}
		return Condition{Field: field, Prefix: p}, nil
	}
	return Condition{}, fmt.Errorf("field %v is not one the kill switch uses", fc.fieldKey)
}

// prefixFrom reads an address condition value: FWP_UINT32 (host order)
// and FWP_BYTE_ARRAY16 are whole addresses, the masks prefixes.
func prefixFrom(v *fwpValue0) (netip.Prefix, error) {
	switch v.typ {
	case fwpUint32:
		a := scalarOf(v)
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), 32), nil
	case fwpByteArray16Type:
		return netip.PrefixFrom(netip.AddrFrom16((*fwpByteArray16)(pointerOf(v)).byteArray16), 128), nil
	case fwpV4AddrMask:
		m := *(*fwpV4AddrAndMask)(pointerOf(v))
		bits := 0
		for bits < 32 && m.mask&(1<<(31-bits)) != 0 {
			bits++
		}
		if bits < 32 && m.mask<<bits != 0 {
			return netip.Prefix{}, fmt.Errorf("mask %#x is not contiguous", m.mask)
		}
		a := m.addr
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), bits)
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("address %v has bits outside mask /%d", p.Addr(), bits)
		}
		return p, nil
	case fwpV6AddrMask:
		m := *(*fwpV6AddrAndMask)(pointerOf(v))
		if m.prefixLength > 128 {
			return netip.Prefix{}, fmt.Errorf("IPv6 prefix length %d", m.prefixLength)
		}
		return netip.PrefixFrom(netip.AddrFrom16(m.addr), int(m.prefixLength)), nil
	}
	return netip.Prefix{}, fmt.Errorf("address value of type %d", v.typ)
}

// ownerFromDescriptor reads the SID out of a security descriptor as
// ownerSDDL makes them: a DACL of one entry allowing match (0x1) to it.
func ownerFromDescriptor(b []byte) (string, error) {
	if len(b) < int(unsafe.Sizeof(windows.SECURITY_DESCRIPTOR{})) {
		return "", fmt.Errorf("user-ID security descriptor of %d bytes", len(b))
	}
	sd := (*windows.SECURITY_DESCRIPTOR)(unsafe.Pointer(&b[0]))
	if sd.Length() != uint32(len(b)) {
		return "", fmt.Errorf("user-ID security descriptor: %d bytes, its length says %d", len(b), sd.Length())
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return "", fmt.Errorf("user-ID security descriptor: %w", err)
	}
	if dacl == nil || dacl.AceCount != 1 {
		return "", fmt.Errorf("user-ID security descriptor %s: want one entry", sd)
	}
	var ace *windows.ACCESS_ALLOWED_ACE
	if err := windows.GetAce(dacl, 0, &ace); err != nil {
		return "", fmt.Errorf("user-ID security descriptor: %w", err)
	}
	sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
	if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Mask != 0x1 || !sid.IsValid() {
		return "", fmt.Errorf("user-ID security descriptor %s: want one entry allowing match (0x1)", sd)
	}
	return sid.String(), nil
}

// appIDText renders an application ID (a NUL-terminated UTF-16 device
// path) for an error message.
func appIDText(b []byte) string {
	if len(b) < 2 {
		return ""
	}
	u := unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2)
	return windows.UTF16ToString(u)
}
