/*
 * A stand-in bcryptprimitives.dll for running Go test binaries under wine.
 *
 * Go 1.22 and later take their random numbers from ProcessPrng in
 * bcryptprimitives.dll, which Wine 8.0 (Debian bookworm) does not export, so
 * every Go program dies at start-up there. This DLL exports ProcessPrng on
 * top of RtlGenRandom (advapi32's SystemFunction036), which wine has.
 * scripts/wine-test.sh builds it with mingw-w64 into a throwaway wine
 * prefix and selects it with WINEDLLOVERRIDES=bcryptprimitives=n. It is a
 * test aid only and never ships.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
	while (length > 0) {
		ULONG n = length > 0x10000000 ? 0x10000000 : (ULONG)length;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		length -= n;
	}
	return TRUE;
}
