//go:build windows

package winnet

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The Windows Filtering Platform's user-mode API (fwpuclnt.dll), loaded
// lazily from System32 only.
var (
	modfwpuclnt                   = windows.NewLazySystemDLL("fwpuclnt.dll")
	procFwpmEngineOpen0           = modfwpuclnt.NewProc("FwpmEngineOpen0")
	procFwpmEngineClose0          = modfwpuclnt.NewProc("FwpmEngineClose0")
	procFwpmTransactionBegin0     = modfwpuclnt.NewProc("FwpmTransactionBegin0")
	procFwpmTransactionCommit0    = modfwpuclnt.NewProc("FwpmTransactionCommit0")
	procFwpmTransactionAbort0     = modfwpuclnt.NewProc("FwpmTransactionAbort0")
	procFwpmSubLayerAdd0          = modfwpuclnt.NewProc("FwpmSubLayerAdd0")
	procFwpmFilterAdd0            = modfwpuclnt.NewProc("FwpmFilterAdd0")
	procFwpmGetAppIdFromFileName0 = modfwpuclnt.NewProc("FwpmGetAppIdFromFileName0")
	procFwpmFreeMemory0           = modfwpuclnt.NewProc("FwpmFreeMemory0")
)

// fwpuclnt.h / fwptypes.h constants.
const (
	rpcCAuthnWinNT         = 10
	fwpmSessionFlagDynamic = 0x1

	fwpUint8                  = 1
	fwpUint16                 = 2
	fwpUint32                 = 3
	fwpUint64                 = 4
	fwpByteArray16Type        = 11
	fwpByteBlobType           = 12
	fwpSecurityDescriptorType = 14
	fwpV4AddrMask             = 0x100
	fwpV6AddrMask             = 0x101

	fwpMatchEqual       = 0
	fwpMatchFlagsAllSet = 6

	fwpActionBlock  = 0x1001 // FWP_ACTION_BLOCK | FWP_ACTION_FLAG_TERMINATING
	fwpActionPermit = 0x1002 // FWP_ACTION_PERMIT | FWP_ACTION_FLAG_TERMINATING

	fwpConditionFlagIsLoopback = 0x1

	fwpmFilterFlagClearActionRight = 0x8 // FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT

	// sublayerWeight puts the tunnel's sublayer above the others so its
	// rules are evaluated first.
	sublayerWeight = 0xffff
)

// Layer and condition keys (fwpmu.h).
var (
	layerKeys = map[Layer]windows.GUID{
		LayerConnectV4:    guid("c38d57d1-05a7-4c33-904f-7fbceee60e82"),
		LayerConnectV6:    guid("4a72393b-319f-44bc-84c3-ba54dcb3b6b4"),
		LayerRecvAcceptV4: guid("e1cd9fe7-f4b5-4273-96c0-592e487b8650"),
		LayerRecvAcceptV6: guid("a3b42c97-9f04-4672-b87e-cee9c483257f"),
	}
	conditionLocalInterface = guid("4cd62a49-59c3-4969-b7f3-bda5d32890a4")
	conditionAppID          = guid("d78e1e87-8644-4ea5-9437-d809ecefc971")
	conditionUserID         = guid("af043a0a-b34d-4f86-979c-c90371af6e66") // FWPM_CONDITION_ALE_USER_ID
	conditionFlags          = guid("632ce23b-5167-435c-86d7-e903684aa80c")
	conditionProtocol       = guid("3971ef2b-623e-4f9a-8cb1-6e79b806b9a7")
	conditionLocalAddress   = guid("d9ee00de-c1ef-4617-bfe3-ffd8f5a08957")
	conditionRemoteAddress  = guid("b235ae9a-1d64-49b8-a44c-5ff3d9095045")
	conditionRemotePort     = guid("c35a604d-d22b-4e1a-91b4-68f674ee674b") // also the ICMP code
	conditionLocalPort      = guid("0c1ba1af-5765-453f-af22-a8f791ac775b") // also the ICMP type
)

func guid(s string) windows.GUID {
	g, err := windows.GUIDFromString("{" + s + "}")
	if err != nil {
		panic(err)
	}
	return g
}

// The structures, laid out as the 64-bit C headers lay them out (Go's
// alignment rules give the same offsets on amd64 and arm64);
// layout_windows_test.go checks every offset and size against the headers.
type (
	fwpmDisplayData0 struct {
		name        *uint16
		description *uint16
	}
	fwpByteBlob struct {
		size uint32
		data *uint8
	}
	fwpmSession0 struct {
		sessionKey           windows.GUID
		displayData          fwpmDisplayData0
		flags                uint32
		txnWaitTimeoutInMSec uint32
		processID            uint32
		sid                  *windows.SID
		username             *uint16
		kernelMode           int32
	}
	fwpmSublayer0 struct {
		subLayerKey  windows.GUID
		displayData  fwpmDisplayData0
		flags        uint32
		providerKey  *windows.GUID
		providerData fwpByteBlob
		weight       uint16
	}
	// fwpValue0 is FWP_VALUE0 and FWP_CONDITION_VALUE0: a type and an
	// 8-byte union (an integer of up to 64 bits or a pointer).
	fwpValue0 struct {
		typ   uint32
		value uintptr
	}
	fwpmFilterCondition0 struct {
		fieldKey       windows.GUID
		matchType      uint32
		conditionValue fwpValue0
	}
	fwpmAction0 struct {
		typ        uint32
		filterType windows.GUID
	}
	fwpmFilter0 struct {
		filterKey           windows.GUID
		displayData         fwpmDisplayData0
		flags               uint32
		providerKey         *windows.GUID
		providerData        fwpByteBlob
		layerKey            windows.GUID
		subLayerKey         windows.GUID
		weight              fwpValue0
		numFilterConditions uint32
		filterCondition     *fwpmFilterCondition0
		action              fwpmAction0
		providerContextKey  [2]uint64 // union with rawContext
		reserved            *windows.GUID
		filterID            uint64
		effectiveWeight     fwpValue0
	}
	fwpV4AddrAndMask struct {
		addr, mask uint32
	}
	fwpV6AddrAndMask struct {
		addr         [16]byte
		prefixLength uint8
	}
	fwpByteArray16 struct {
		byteArray16 [16]byte
	}
)

func fwpCall(p *windows.LazyProc, args ...uintptr) error {
	if err := p.Find(); err != nil {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	r, _, _ := p.Call(args...)
	if r != 0 {
		return fmt.Errorf("%s: %w", p.Name, windows.Errno(r))
	}
	return nil
}

// firewall is a WFP dynamic session holding the kill switch's filters;
// closing the session removes every filter and the sublayer with it, and
// so does the process exiting or crashing.
type firewall struct {
	engine windows.Handle
}

// sublayerKey derives the tunnel's sublayer key from its name, so two
// tunnels' kill switches never collide.
func sublayerKey(tunnel string) windows.GUID {
	sum := sha256.Sum256([]byte("warren WFP sublayer v1\x00" + tunnel))
	var g windows.GUID
	g.Data1 = uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])
	g.Data2 = uint16(sum[4])<<8 | uint16(sum[5])
	g.Data3 = (uint16(sum[6])<<8|uint16(sum[7]))&0x0fff | 0x5000
	copy(g.Data4[:], sum[8:16])
	g.Data4[0] = g.Data4[0]&0x3f | 0x80
	return g
}

// openFirewall installs rules for the tunnel whose adapter is luid in one
// transaction of a new dynamic WFP session.
func openFirewall(tunnel string, luid uint64, rules []Rule) (*firewall, error) {
	name, err := windows.UTF16PtrFromString("warren " + tunnel)
	if err != nil {
		return nil, fmt.Errorf("firewall for %s: %w", tunnel, err)
	}
	owners, err := ownerDescriptors(rules, tokenHolds)
	if err != nil {
		return nil, fmt.Errorf("firewall for %s: %w", tunnel, err)
	}
	session := fwpmSession0{
		displayData:          fwpmDisplayData0{name: name},
		flags:                fwpmSessionFlagDynamic,
		txnWaitTimeoutInMSec: windows.INFINITE,
	}
	var engine windows.Handle
	if err := fwpCall(procFwpmEngineOpen0, 0, rpcCAuthnWinNT, 0, uintptr(unsafe.Pointer(&session)), uintptr(unsafe.Pointer(&engine))); err != nil {
		return nil, fmt.Errorf("firewall for %s: open filter engine: %w", tunnel, err)
	}
	fw := &firewall{engine: engine}
	if err := fw.install(tunnel, name, luid, rules, owners); err != nil {
		fw.close()
		return nil, fmt.Errorf("firewall for %s: %w", tunnel, err)
	}
	return fw, nil
}

func (fw *firewall) install(tunnel string, name *uint16, luid uint64, rules []Rule, owners map[string]*fwpByteBlob) (err error) {
	if err := fwpCall(procFwpmTransactionBegin0, uintptr(fw.engine), 0); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			fwpCall(procFwpmTransactionAbort0, uintptr(fw.engine))
		}
	}()
	sub := fwpmSublayer0{
		subLayerKey: sublayerKey(tunnel),
		displayData: fwpmDisplayData0{name: name},
		weight:      sublayerWeight,
	}
	if err := fwpCall(procFwpmSubLayerAdd0, uintptr(fw.engine), uintptr(unsafe.Pointer(&sub)), 0); err != nil {
		return fmt.Errorf("add sublayer: %w", err)
	}
	app, err := ownAppID()
	if err != nil {
		return err
	}
	defer fwpFree(unsafe.Pointer(app))
	for _, r := range rules {
		if err := fw.addFilter(sub.subLayerKey, r, luid, app, owners); err != nil {
			return fmt.Errorf("add rule %q at %v: %w", r.Name, r.Layer, err)
		}
	}
	return fwpCall(procFwpmTransactionCommit0, uintptr(fw.engine))
}

// tokenHolds reports whether the running process's token holds sid as its
// user or as an enabled group that is not deny-only: what the access check
// behind WFP's ALE user-ID condition grants an allow entry for. (It reads
// the token rather than asking CheckTokenMembership, which wants an
// impersonation token and which wine answers only for groups.)
func tokenHolds(sid *windows.SID) (bool, error) {
	tok := windows.GetCurrentProcessToken()
	u, err := tok.GetTokenUser()
	if err != nil {
		return false, fmt.Errorf("read token user: %w", err)
	}
	if windows.EqualSid(u.User.Sid, sid) {
		return true, nil
	}
	gs, err := tok.GetTokenGroups()
	if err != nil {
		return false, fmt.Errorf("read token groups: %w", err)
	}
	for _, g := range gs.AllGroups() {
		if g.Attributes&windows.SE_GROUP_ENABLED != 0 && g.Attributes&windows.SE_GROUP_USE_FOR_DENY_ONLY == 0 && windows.EqualSid(g.Sid, sid) {
			return true, nil
		}
	}
	return false, nil
}

// ownerDescriptors returns, for each owner SID the rules' FieldOwnerSID
// conditions name, the FWP_BYTE_BLOB of the self-relative security
// descriptor that the ALE user-ID condition is matched against. It
// refuses (ErrNoOwner) an empty owner and one that holds(sid) denies:
// installed, such rules would block the tunnel's own traffic.
func ownerDescriptors(rules []Rule, holds func(*windows.SID) (bool, error)) (map[string]*fwpByteBlob, error) {
	owners := map[string]*fwpByteBlob{}
	for _, r := range rules {
		for _, c := range r.Conditions {
			if c.Field != FieldOwnerSID || owners[c.SID] != nil {
				continue
			}
			if c.SID == "" {
				return nil, fmt.Errorf("rule %q: %w (no service name or owner SID given to the plan)", r.Name, ErrNoOwner)
			}
			if err := checkSID(c.SID); err != nil {
				return nil, fmt.Errorf("rule %q: %w", r.Name, err)
			}
			sid, err := windows.StringToSid(c.SID)
			if err != nil {
				return nil, fmt.Errorf("rule %q: owner %s: %w", r.Name, c.SID, err)
			}
			ok, err := holds(sid)
			if err != nil {
				return nil, fmt.Errorf("check that this process runs as %s: %w", c.SID, err)
			}
			if !ok {
				return nil, fmt.Errorf("%w: this process's token does not hold %s (for a service: is its SID type unrestricted?)", ErrNoOwner, c.SID)
			}
			sd, err := windows.SecurityDescriptorFromString(ownerSDDL(c.SID))
			if err != nil {
				return nil, fmt.Errorf("security descriptor for %s: %w", c.SID, err)
			}
			owners[c.SID] = &fwpByteBlob{size: sd.Length(), data: (*uint8)(unsafe.Pointer(sd))}
		}
	}
	return owners, nil
}

// ownAppID is WFP's application identifier of the running executable.
func ownAppID() (*fwpByteBlob, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("own executable: %w", err)
	}
	p, err := windows.UTF16PtrFromString(exe)
	if err != nil {
		return nil, fmt.Errorf("own executable: %w", err)
	}
	var blob *fwpByteBlob
	if err := fwpCall(procFwpmGetAppIdFromFileName0, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&blob))); err != nil {
		return nil, fmt.Errorf("application id of %s: %w", exe, err)
	}
	return blob, nil
}

func fwpFree(p unsafe.Pointer) {
	if p != nil {
		fwpCall(procFwpmFreeMemory0, uintptr(unsafe.Pointer(&p)))
	}
}

// addFilter adds one Rule to the session as an FWPM_FILTER0. The values
// the conditions point to are pinned until the call returns.
func (fw *firewall) addFilter(sub windows.GUID, r Rule, luid uint64, app *fwpByteBlob, owners map[string]*fwpByteBlob) error {
	var pins runtime.Pinner
	defer pins.Unpin()
	f, err := buildFilter(sub, r, luid, app, owners, &pins)
	if err != nil {
		return err
	}
	var id uint64
	return fwpCall(procFwpmFilterAdd0, uintptr(fw.engine), uintptr(unsafe.Pointer(f)), 0, uintptr(unsafe.Pointer(&id)))
}

// buildFilter translates one Rule into an FWPM_FILTER0 with its
// conditions, pinning through pins everything the structure points to.
// app is the executable's application ID; owners holds the security
// descriptor of each owner SID (ownerDescriptors).
func buildFilter(sub windows.GUID, r Rule, luid uint64, app *fwpByteBlob, owners map[string]*fwpByteBlob, pins *runtime.Pinner) (*fwpmFilter0, error) {
	layer, ok := layerKeys[r.Layer]
	if !ok {
		return nil, fmt.Errorf("unknown layer %v", r.Layer)
	}
	name, err := windows.UTF16PtrFromString(r.Name)
	if err != nil {
		return nil, err
	}
	pin := func(p unsafe.Pointer) uintptr { pins.Pin(p); return uintptr(p) }

	conds := make([]fwpmFilterCondition0, 0, len(r.Conditions))
	for _, c := range r.Conditions {
		fc := fwpmFilterCondition0{matchType: fwpMatchEqual}
		switch c.Field {
		case FieldTunnelInterface:
			v := luid
			fc.fieldKey, fc.conditionValue = conditionLocalInterface, fwpValue0{typ: fwpUint64, value: pin(unsafe.Pointer(&v))}
		case FieldOwnApp:
			if app == nil {
				return nil, errors.New("no application ID for the own-app condition")
			}
			fc.fieldKey, fc.conditionValue = conditionAppID, fwpValue0{typ: fwpByteBlobType, value: pin(unsafe.Pointer(app))}
		case FieldOwnerSID:
			sd := owners[c.SID]
			if sd == nil {
				return nil, fmt.Errorf("%w: no security descriptor for owner %q", ErrNoOwner, c.SID)
			}
			pins.Pin(sd.data)
			fc.fieldKey, fc.conditionValue = conditionUserID, fwpValue0{typ: fwpSecurityDescriptorType, value: pin(unsafe.Pointer(sd))}
		case FieldLoopback:
			fc.fieldKey, fc.matchType = conditionFlags, fwpMatchFlagsAllSet
			fc.conditionValue = fwpValue0{typ: fwpUint32, value: fwpConditionFlagIsLoopback}
		case FieldProtocol:
			fc.fieldKey, fc.conditionValue = conditionProtocol, fwpValue0{typ: fwpUint8, value: uintptr(c.Value)}
		case FieldRemotePort, FieldICMPCode:
			fc.fieldKey, fc.conditionValue = conditionRemotePort, fwpValue0{typ: fwpUint16, value: uintptr(c.Value)}
		case FieldLocalPort, FieldICMPType:
			fc.fieldKey, fc.conditionValue = conditionLocalPort, fwpValue0{typ: fwpUint16, value: uintptr(c.Value)}
		case FieldRemoteAddr, FieldLocalAddr:
			fc.fieldKey = conditionRemoteAddress
			if c.Field == FieldLocalAddr {
				fc.fieldKey = conditionLocalAddress
			}
			v, err := addrValue(c.Prefix, pin)
			if err != nil {
				return nil, err
			}
			fc.conditionValue = v
		default:
			return nil, fmt.Errorf("unknown condition field %v", c.Field)
		}
		conds = append(conds, fc)
	}
	action := uint32(fwpActionPermit)
	if r.Action == Block {
		action = fwpActionBlock
	}
	var flags uint32
	if r.Flags&FlagClearActionRight != 0 {
		flags |= fwpmFilterFlagClearActionRight
	}
	if unknown := r.Flags &^ FlagClearActionRight; unknown != 0 {
		return nil, fmt.Errorf("unknown rule flags %v", unknown)
	}
	f := &fwpmFilter0{
		displayData: fwpmDisplayData0{name: name},
		flags:       flags,
		layerKey:    layer,
		subLayerKey: sub,
		weight:      fwpValue0{typ: fwpUint8, value: uintptr(r.Weight)},
		action:      fwpmAction0{typ: action},
	}
	pins.Pin(name)
	if len(conds) > 0 {
		f.numFilterConditions = uint32(len(conds))
		f.filterCondition = &conds[0]
		pins.Pin(&conds[0])
	}
	return f, nil
}

// addrValue is the condition value matching the addresses in p: a whole
// address as the plain value (FWP_UINT32 in host order, FWP_BYTE_ARRAY16),
// a shorter prefix as an address and mask.
func addrValue(p netip.Prefix, pin func(unsafe.Pointer) uintptr) (fwpValue0, error) {
	a := p.Addr()
	switch {
	case !p.IsValid():
		return fwpValue0{}, fmt.Errorf("invalid address prefix %v", p)
	case a.Is4() && p.Bits() == 32:
		m := v4AddrMask(p)
		return fwpValue0{typ: fwpUint32, value: uintptr(m.addr)}, nil
	case a.Is4():
		m := v4AddrMask(p)
		return fwpValue0{typ: fwpV4AddrMask, value: pin(unsafe.Pointer(&m))}, nil
	case p.Bits() == 128:
		b := fwpByteArray16{byteArray16: a.As16()}
		return fwpValue0{typ: fwpByteArray16Type, value: pin(unsafe.Pointer(&b))}, nil
	}
	m := fwpV6AddrAndMask{addr: a.As16(), prefixLength: uint8(p.Bits())}
	return fwpValue0{typ: fwpV6AddrMask, value: pin(unsafe.Pointer(&m))}, nil
}

// v4AddrMask is the FWP_V4_ADDR_AND_MASK of p, in host byte order.
func v4AddrMask(p netip.Prefix) fwpV4AddrAndMask {
	a := p.Masked().Addr().As4()
	var mask uint32
	if p.Bits() > 0 {
		mask = ^uint32(0) << (32 - p.Bits())
	}
	return fwpV4AddrAndMask{addr: uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]), mask: mask}
}

// close ends the dynamic session, which removes every filter it added.
func (fw *firewall) close() error {
	if fw == nil || fw.engine == 0 {
		return nil
	}
	err := fwpCall(procFwpmEngineClose0, uintptr(fw.engine))
	fw.engine = 0
	if err != nil {
		return errors.Join(errors.New("close filter engine session"), err)
	}
	return nil
}
