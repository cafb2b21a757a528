// Package winacl decides whether a Windows file or folder can be changed by
// anyone other than SYSTEM, the Administrators and TrustedInstaller: the
// check that stands between a user who can write a folder and code that runs
// as SYSTEM from it (the tunnel service's warren.exe, the wintun.dll it
// loads).
//
// It owns a parser for security descriptors in SDDL, the string form
// Windows gives them (ConvertSecurityDescriptorToStringSecurityDescriptor,
// which is what x/sys/windows' SECURITY_DESCRIPTOR.String returns), the
// decision over a parsed descriptor (who, besides the trusted principals,
// may write, delete, re-permission or own it), and the walk up a Windows
// path that applies the decision to a file, its folder and every folder
// above. All of that is pure Go over strings, so it is tested on every
// platform with real descriptors written down as SDDL. On Windows it also
// reads what the decision needs (read_windows.go): a file's descriptor
// (ReadFileSecurity, the Reader both the tunnel service and the Wintun
// loader use), a SID's account name, and an open file's final path.
//
// It imports nothing of warren's; its Windows file uses x/sys/windows, the
// rest only the standard library.
package winacl
