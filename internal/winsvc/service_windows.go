package winsvc

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc"

	"github.com/warren-vpn/warren/internal/conf"
)

// ServiceSecurityDescriptor is each tunnel service's DACL: SYSTEM and the
// Administrators have their usual rights; Network Configuration Operators
// (NO) may query, start, stop and interrogate it but not reconfigure or
// delete it (and the keys, in the store and behind the pipe, stay out of
// their reach); interactive users may query its status.
const ServiceSecurityDescriptor = "D:" +
	"(A;;CCLCSWRPWPDTLOCRRC;;;SY)" +
	"(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)" +
	"(A;;CCLCSWRPWPDTLOCRRC;;;NO)" +
	"(A;;CCLCSWLOCRRC;;;IU)"

// stopTimeout bounds how long uninstall waits for a service to stop.
const stopTimeout = 30 * time.Second

func run(cmd Command, opts Options, stdout io.Writer) error {
	switch cmd.Op {
	case OpInstall:
		return install(cmd, stdout)
	case OpUninstall:
		if cmd.All {
			return uninstallAll(stdout)
		}
		return uninstall(cmd.Tunnel, stdout)
	case OpList:
		return list(stdout)
	case OpImport:
		return importConf(cmd, stdout)
	case OpExport:
		return export(cmd.Tunnel, stdout)
	case OpRun:
		return runService(cmd, opts)
	case OpLog:
		return showLog(cmd, stdout)
	}
	return fmt.Errorf("%w: unknown operation %d", ErrUsage, cmd.Op)
}

// requireAdmin fails unless the process runs elevated as an administrator
// or as SYSTEM.
func requireAdmin(what string) error {
	token := windows.GetCurrentProcessToken()
	if token.IsElevated() {
		return nil
	}
	sys, err := windows.CreateWellKnownSid(windows.WinLocalSystemSid)
	if err == nil {
		if u, err := token.GetTokenUser(); err == nil && u.User.Sid.Equals(sys) {
			return nil
		}
	}
	return fmt.Errorf("%s needs an elevated administrator prompt (Run as administrator)", what)
}

// scriptsAllowedMachineWide reads the registry opt-in.
func scriptsAllowedMachineWide() bool {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, AllowScriptsRegistryKey, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	defer k.Close()
	v, _, err := k.GetIntegerValue(AllowScriptsRegistryValue)
	return err == nil && v == 1
}

// openDefaultStore opens the store in DefaultStoreDir, with every folder
// from ProgramDir down checked for links.
func openDefaultStore() (*Store, error) {
	root, err := ProgramDir()
	if err != nil {
		return nil, fmt.Errorf("configuration store: %w", err)
	}
	dir, err := DefaultStoreDir()
	if err != nil {
		return nil, err
	}
	return openStoreUnder(root, dir)
}

// readConf reads and parses a configuration file to import.
func readConf(cmd Command) ([]byte, *conf.File, error) {
	data, err := os.ReadFile(cmd.Path)
	if err != nil {
		return nil, nil, err
	}
	f, err := ParseConfig(cmd.Path, data)
	if err != nil {
		return nil, nil, err
	}
	return data, f, nil
}

func importConf(cmd Command, stdout io.Writer) error {
	if err := requireAdmin("warren import"); err != nil {
		return err
	}
	data, f, err := readConf(cmd)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	st, err := openDefaultStore()
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if err := st.Save(cmd.Tunnel, data); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	fmt.Fprintf(stdout, "Imported tunnel %s into %s\n", cmd.Tunnel, st.Dir)
	if err := CheckHooks(cmd.Tunnel, f, scriptsAllowedMachineWide()); err != nil {
		fmt.Fprintf(stdout, "Note: %v\n", err)
	}
	return nil
}

func export(name string, stdout io.Writer) error {
	if err := requireAdmin("warren export"); err != nil {
		return err
	}
	st, err := openDefaultStore()
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	data, err := st.Load(name)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer clear(data)
	_, err = stdout.Write(data)
	return err
}

// StateText words a service state for `warren service list`.
func StateText(s svc.State) string {
	switch s {
	case svc.Stopped:
		return "stopped"
	case svc.StartPending:
		return "starting"
	case svc.StopPending:
		return "stopping"
	case svc.Running:
		return "running"
	case svc.ContinuePending, svc.PausePending, svc.Paused:
		return "paused"
	}
	return fmt.Sprintf("state %d", s)
}
