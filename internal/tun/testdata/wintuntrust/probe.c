/* A DLL that stands in for wintun.dll in the signature tests: it exports
 * one function, wintun_trust_probe, that returns 42. gen.sh builds it. */
#include <windows.h>

__declspec(dllexport) int wintun_trust_probe(void) { return 42; }

BOOL WINAPI DllMain(HINSTANCE module, DWORD reason, LPVOID reserved)
{
	(void)module;
	(void)reason;
	(void)reserved;
	return TRUE;
}
