// Package debtest tests scripts/package-deb.sh: it builds warren, packages
// it for this machine's architecture, checks the package's contents,
// reproducibility and lintian's verdict, and installs and removes it with
// dpkg (check-install.sh) — on the machine itself in CI (a fresh,
// throwaway one) or with WARREN_DEB_TEST=system, else, as root, inside a
// throwaway overlay of the root file system in a mount namespace of its
// own, so that a developer's machine is left as it was.
package debtest
