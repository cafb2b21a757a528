//go:build windows

package winnet

import (
	"testing"
	"unsafe"
)

// The offsets and sizes of every structure warren hands to the filter
// engine, as the 64-bit C headers (fwptypes.h, fwpmtypes.h) lay them out:
// the numbers were measured with offsetof/sizeof over mingw-w64's headers
// for x86_64. Windows on arm64 uses the same LLP64 data model and natural
// alignment, so they hold there too. Each entry is checked twice: at
// compile time (layoutChecks below, so `GOOS=windows GOARCH=arm64 go vet`
// fails on arm64 as the build fails on amd64) and by TestWFPLayout, which
// names the field that moved.
var layout = []struct {
	name      string
	got, want uintptr
}{
	{"FWPM_DISPLAY_DATA0 size", unsafe.Sizeof(fwpmDisplayData0{}), 16},
	{"FWPM_DISPLAY_DATA0.name", unsafe.Offsetof(fwpmDisplayData0{}.name), 0},
	{"FWPM_DISPLAY_DATA0.description", unsafe.Offsetof(fwpmDisplayData0{}.description), 8},

	{"FWP_BYTE_BLOB size", unsafe.Sizeof(fwpByteBlob{}), 16},
	{"FWP_BYTE_BLOB.size", unsafe.Offsetof(fwpByteBlob{}.size), 0},
	{"FWP_BYTE_BLOB.data", unsafe.Offsetof(fwpByteBlob{}.data), 8},

	{"FWP_BYTE_ARRAY16 size", unsafe.Sizeof(fwpByteArray16{}), 16},

	{"FWP_V4_ADDR_AND_MASK size", unsafe.Sizeof(fwpV4AddrAndMask{}), 8},
	{"FWP_V4_ADDR_AND_MASK.addr", unsafe.Offsetof(fwpV4AddrAndMask{}.addr), 0},
	{"FWP_V4_ADDR_AND_MASK.mask", unsafe.Offsetof(fwpV4AddrAndMask{}.mask), 4},

	{"FWP_V6_ADDR_AND_MASK size", unsafe.Sizeof(fwpV6AddrAndMask{}), 17},
	{"FWP_V6_ADDR_AND_MASK.addr", unsafe.Offsetof(fwpV6AddrAndMask{}.addr), 0},
	{"FWP_V6_ADDR_AND_MASK.prefixLength", unsafe.Offsetof(fwpV6AddrAndMask{}.prefixLength), 16},

	// FWP_VALUE0 and FWP_CONDITION_VALUE0 have the same layout.
	{"FWP_VALUE0 size", unsafe.Sizeof(fwpValue0{}), 16},
	{"FWP_VALUE0.type", unsafe.Offsetof(fwpValue0{}.typ), 0},
	{"FWP_VALUE0 union", unsafe.Offsetof(fwpValue0{}.value), 8},
	{"FWP_VALUE0 union size", unsafe.Sizeof(fwpValue0{}.value), 8},

	{"FWPM_FILTER_CONDITION0 size", unsafe.Sizeof(fwpmFilterCondition0{}), 40},
	{"FWPM_FILTER_CONDITION0.fieldKey", unsafe.Offsetof(fwpmFilterCondition0{}.fieldKey), 0},
	{"FWPM_FILTER_CONDITION0.matchType", unsafe.Offsetof(fwpmFilterCondition0{}.matchType), 16},
	{"FWPM_FILTER_CONDITION0.conditionValue", unsafe.Offsetof(fwpmFilterCondition0{}.conditionValue), 24},

	{"FWPM_ACTION0 size", unsafe.Sizeof(fwpmAction0{}), 20},
	{"FWPM_ACTION0.type", unsafe.Offsetof(fwpmAction0{}.typ), 0},
	{"FWPM_ACTION0.filterType", unsafe.Offsetof(fwpmAction0{}.filterType), 4},

	{"FWPM_SESSION0 size", unsafe.Sizeof(fwpmSession0{}), 72},
	{"FWPM_SESSION0.sessionKey", unsafe.Offsetof(fwpmSession0{}.sessionKey), 0},
	{"FWPM_SESSION0.displayData", unsafe.Offsetof(fwpmSession0{}.displayData), 16},
	{"FWPM_SESSION0.flags", unsafe.Offsetof(fwpmSession0{}.flags), 32},
	{"FWPM_SESSION0.txnWaitTimeoutInMSec", unsafe.Offsetof(fwpmSession0{}.txnWaitTimeoutInMSec), 36},
	{"FWPM_SESSION0.processId", unsafe.Offsetof(fwpmSession0{}.processID), 40},
	{"FWPM_SESSION0.sid", unsafe.Offsetof(fwpmSession0{}.sid), 48},
	{"FWPM_SESSION0.username", unsafe.Offsetof(fwpmSession0{}.username), 56},
	{"FWPM_SESSION0.kernelMode", unsafe.Offsetof(fwpmSession0{}.kernelMode), 64},

	{"FWPM_SUBLAYER0 size", unsafe.Sizeof(fwpmSublayer0{}), 72},
	{"FWPM_SUBLAYER0.subLayerKey", unsafe.Offsetof(fwpmSublayer0{}.subLayerKey), 0},
	{"FWPM_SUBLAYER0.displayData", unsafe.Offsetof(fwpmSublayer0{}.displayData), 16},
	{"FWPM_SUBLAYER0.flags", unsafe.Offsetof(fwpmSublayer0{}.flags), 32},
	{"FWPM_SUBLAYER0.providerKey", unsafe.Offsetof(fwpmSublayer0{}.providerKey), 40},
	{"FWPM_SUBLAYER0.providerData", unsafe.Offsetof(fwpmSublayer0{}.providerData), 48},
	{"FWPM_SUBLAYER0.weight", unsafe.Offsetof(fwpmSublayer0{}.weight), 64},

	{"FWPM_FILTER0 size", unsafe.Sizeof(fwpmFilter0{}), 200},
	{"FWPM_FILTER0.filterKey", unsafe.Offsetof(fwpmFilter0{}.filterKey), 0},
	{"FWPM_FILTER0.displayData", unsafe.Offsetof(fwpmFilter0{}.displayData), 16},
	{"FWPM_FILTER0.flags", unsafe.Offsetof(fwpmFilter0{}.flags), 32},
	{"FWPM_FILTER0.providerKey", unsafe.Offsetof(fwpmFilter0{}.providerKey), 40},
	{"FWPM_FILTER0.providerData", unsafe.Offsetof(fwpmFilter0{}.providerData), 48},
	{"FWPM_FILTER0.layerKey", unsafe.Offsetof(fwpmFilter0{}.layerKey), 64},
	{"FWPM_FILTER0.subLayerKey", unsafe.Offsetof(fwpmFilter0{}.subLayerKey), 80},
	{"FWPM_FILTER0.weight", unsafe.Offsetof(fwpmFilter0{}.weight), 96},
	{"FWPM_FILTER0.numFilterConditions", unsafe.Offsetof(fwpmFilter0{}.numFilterConditions), 112},
	{"FWPM_FILTER0.filterCondition", unsafe.Offsetof(fwpmFilter0{}.filterCondition), 120},
	{"FWPM_FILTER0.action", unsafe.Offsetof(fwpmFilter0{}.action), 128},
	{"FWPM_FILTER0.rawContext/providerContextKey", unsafe.Offsetof(fwpmFilter0{}.providerContextKey), 152},
	{"FWPM_FILTER0 context union size", unsafe.Sizeof(fwpmFilter0{}.providerContextKey), 16},
	{"FWPM_FILTER0.reserved", unsafe.Offsetof(fwpmFilter0{}.reserved), 168},
	{"FWPM_FILTER0.filterId", unsafe.Offsetof(fwpmFilter0{}.filterID), 176},
	{"FWPM_FILTER0.effectiveWeight", unsafe.Offsetof(fwpmFilter0{}.effectiveWeight), 184},
}

func TestWFPLayout(t *testing.T) {
	for _, l := range layout {
		if l.got != l.want {
			t.Errorf("%s: %d here, %d in the C headers", l.name, l.got, l.want)
		}
	}
}

// layoutChecks repeats the table as constant expressions: indexing a
// one-element array with a constant other than 0 does not compile, so a
// layout that differs from the headers on any GOARCH fails its build (and
// go vet) before any test runs.
var layoutChecks = [...]int{
	[1]int{}[unsafe.Sizeof(fwpmDisplayData0{})-16],
	[1]int{}[unsafe.Offsetof(fwpmDisplayData0{}.description)-8],
	[1]int{}[unsafe.Sizeof(fwpByteBlob{})-16],
	[1]int{}[unsafe.Offsetof(fwpByteBlob{}.data)-8],
	[1]int{}[unsafe.Sizeof(fwpByteArray16{})-16],
	[1]int{}[unsafe.Sizeof(fwpV4AddrAndMask{})-8],
	[1]int{}[unsafe.Offsetof(fwpV4AddrAndMask{}.mask)-4],
	[1]int{}[unsafe.Sizeof(fwpV6AddrAndMask{})-17],
	[1]int{}[unsafe.Offsetof(fwpV6AddrAndMask{}.prefixLength)-16],
	[1]int{}[unsafe.Sizeof(fwpValue0{})-16],
	[1]int{}[unsafe.Offsetof(fwpValue0{}.value)-8],
	[1]int{}[unsafe.Sizeof(fwpmFilterCondition0{})-40],
	[1]int{}[unsafe.Offsetof(fwpmFilterCondition0{}.matchType)-16],
	[1]int{}[unsafe.Offsetof(fwpmFilterCondition0{}.conditionValue)-24],
	[1]int{}[unsafe.Sizeof(fwpmAction0{})-20],
	[1]int{}[unsafe.Offsetof(fwpmAction0{}.filterType)-4],
	[1]int{}[unsafe.Sizeof(fwpmSession0{})-72],
	[1]int{}[unsafe.Offsetof(fwpmSession0{}.displayData)-16],
	[1]int{}[unsafe.Offsetof(fwpmSession0{}.flags)-32],
	[1]int{}[unsafe.Offsetof(fwpmSession0{}.txnWaitTimeoutInMSec)-36],
	[1]int{}[unsafe.Offsetof(fwpmSession0{}.processID)-40],
	[1]int{}[unsafe.Offsetof(fwpmSession0{}.sid)-48],
	[1]int{}[unsafe.Offsetof(fwpmSession0{}.username)-56],
	[1]int{}[unsafe.Offsetof(fwpmSession0{}.kernelMode)-64],
	[1]int{}[unsafe.Sizeof(fwpmSublayer0{})-72],
	[1]int{}[unsafe.Offsetof(fwpmSublayer0{}.flags)-32],
	[1]int{}[unsafe.Offsetof(fwpmSublayer0{}.providerKey)-40],
	[1]int{}[unsafe.Offsetof(fwpmSublayer0{}.providerData)-48],
	[1]int{}[unsafe.Offsetof(fwpmSublayer0{}.weight)-64],
	[1]int{}[unsafe.Sizeof(fwpmFilter0{})-200],
	[1]int{}[unsafe.Offsetof(fwpmFilter0{}.flags)-32],
	[1]int{}[unsafe.Offsetof(fwpmFilter0{}.providerKey)-40],
	[1]int{}[unsafe.Offsetof(fwpmFilter0{}.providerData)-48],
	[1]int{}[unsafe.Offsetof(fwpmFilter0{}.layerKey)-64],
	[1]int{}[unsafe.Offsetof(fwpmFilter0{}.subLayerKey)-80],
	[1]int{}[unsafe.Offsetof(fwpmFilter0{}.weight)-96],
	[1]int{}[unsafe.Offsetof(fwpmFilter0{}.numFilterConditions)-112],
	[1]int{}[unsafe.Offsetof(fwpmFilter0{}.filterCondition)-120],
	[1]int{}[unsafe.Offsetof(fwpmFilter0{}.action)-128],
	[1]int{}[unsafe.Offsetof(fwpmFilter0{}.providerContextKey)-152],
	[1]int{}[unsafe.Offsetof(fwpmFilter0{}.reserved)-168],
	[1]int{}[unsafe.Offsetof(fwpmFilter0{}.filterID)-176],
	[1]int{}[unsafe.Offsetof(fwpmFilter0{}.effectiveWeight)-184],
}

var _ = layoutChecks
