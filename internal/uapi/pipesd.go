package uapi

// The security descriptors of the Windows UAPI pipes, in SDDL. They live
// in a platform-neutral file so that a test on every platform pins them.

// PipeSecurityDescriptor is the SDDL of a pipe in PipeDir, WireGuard's
// namespace, as wireguard-go sets it:
//   - owner LocalSystem (O:SY): wg.exe opens a pipe there only if its owner
//     is LocalSystem, and so does Dial;
//   - a protected DACL (nothing inherited) granting full access to SYSTEM
//     and the built-in Administrators, and nothing to anyone else;
//   - a high mandatory label with no-write-up, no-read-up and no-execute-up,
//     so that no process below high integrity (a non-elevated
//     administrator's, say) reaches it whatever the DACL says.
//
// Assigning an owner other than oneself takes SeRestorePrivilege: the
// tunnel service runs as SYSTEM and needs none; an elevated administrator
// holds it, and Listen enables it for the pipe's creation only.
const PipeSecurityDescriptor = "O:SYD:P(A;;GA;;;SY)(A;;GA;;;BA)S:(ML;;NWNRNX;;;HI)"

// PrivatePipeSecurityDescriptor is the SDDL of a pipe in a private
// namespace (tests, WARREN_SOCKET_DIR; see PipePrefix): the same protected
// DACL, but the owner is whoever creates the pipe (no privilege needed, and
// under wine, where CI runs the Windows tests, the token's primary group),
// and no label. wg.exe never looks there; Dial accepts such a pipe when
// SYSTEM, the Administrators or the caller itself owns it.
const PrivatePipeSecurityDescriptor = "D:P(A;;GA;;;SY)(A;;GA;;;BA)"
