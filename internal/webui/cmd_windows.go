package webui

// What `warren manager --help` says on Windows.
const (
	platformAbout = "the tunnel services and their encrypted store (as `warren service`\nand `warren import` manage them),"
	privileged    = "the Administrators"
	platformUsage = `
On Windows it runs as SYSTEM, as the service 'warren manager install'
registers (run from an elevated prompt), with --state %ProgramData%\warren;
--config-dir is the tunnel services' store and cannot be moved. Run by hand,
it needs an elevated prompt. Administrators use the whole UI; an
administrator can give members of Network Configuration Operators
operator accounts (Settings), which start and stop tunnels and never see
keys.

  warren manager install [FLAGS]   register and start the manager service
                                   (FLAGS as above, but not --state or
                                   --config-dir)
  warren manager uninstall         stop and remove it (its state stays)
`
)
