package winres

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"text/template"
)

// manifestTemplate is warren.exe's application manifest:
//   - asInvoker: warren never asks for elevation itself (commands that need
//     it say so); the trustInfo section also turns off UAC's file and
//     registry virtualization and its installer detection;
//   - supportedOS Windows 10 (the same id covers Windows 11): the
//     newest behaviour of the APIs, no compatibility shims;
//   - longPathAware: paths past MAX_PATH work where the system allows them;
//   - activeCodePage UTF-8: any ANSI API call sees UTF-8, not the legacy
//     code page.
var manifestTemplate = template.Must(template.New("manifest").Parse(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<assembly xmlns="urn:schemas-microsoft-com:asm.v1" manifestVersion="1.0">
  <assemblyIdentity type="win32" name="{{.Name}}" version="{{.Version}}" processorArchitecture="{{.Arch}}"/>
  <description>{{.Description}}</description>
  <trustInfo xmlns="urn:schemas-microsoft-com:asm.v3">
    <security>
      <requestedPrivileges>
        <requestedExecutionLevel level="asInvoker" uiAccess="false"/>
      </requestedPrivileges>
    </security>
  </trustInfo>
  <compatibility xmlns="urn:schemas-microsoft-com:compatibility.v1">
    <application>
      <supportedOS Id="{8e0f7a12-bfb3-4fe8-b9a5-48fd50a15a9a}"/>
    </application>
  </compatibility>
  <application xmlns="urn:schemas-microsoft-com:asm.v3">
    <windowsSettings>
      <longPathAware xmlns="http://schemas.microsoft.com/SMI/2016/WindowsSettings">true</longPathAware>
      <activeCodePage xmlns="http://schemas.microsoft.com/SMI/2019/WindowsSettings">UTF-8</activeCodePage>
    </windowsSettings>
  </application>
</assembly>
`))

// Manifest returns the application manifest for info (UTF-8 XML).
func Manifest(info Info) ([]byte, error) {
	arch, _, _, err := machine(info.Arch)
	if err != nil {
		return nil, err
	}
	v, _, err := numericVersion(info.Version)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(info.OriginalFilename, ".exe")
	if name == "" {
		return nil, fmt.Errorf("manifest: OriginalFilename is empty")
	}
	var b strings.Builder
	err = manifestTemplate.Execute(&b, struct{ Name, Version, Arch, Description string }{
		Name:        xmlText(name),
		Version:     fmt.Sprintf("%d.%d.%d.%d", v[0], v[1], v[2], v[3]),
		Arch:        arch,
		Description: xmlText(info.FileDescription),
	})
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return []byte(b.String()), nil
}

// xmlText escapes s for an XML attribute value or element text.
func xmlText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writes to a bytes.Buffer: cannot fail
	return b.String()
}
