#!/bin/sh
# Rebuilds the fixtures of internal/tun's wintun.dll trust tests:
#   unsigned.dll  probe.c built with mingw-w64 (x86-64), no signature;
#   signed.dll    the same, Authenticode-signed (SHA-256, no timestamp) by
#                 "Warren Test Signer", a throwaway code-signing certificate
#                 from a throwaway root "Warren Test Root"; both keys are
#                 made here and thrown away, so nothing can sign as them again.
# The tampered DLL is made by the tests from signed.dll.
# Needs: x86_64-w64-mingw32-gcc, openssl, osslsigncode (Debian packages
# gcc-mingw-w64-x86-64, openssl, osslsigncode).
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

x86_64-w64-mingw32-gcc -O2 -shared -nostdlib -e DllMain -s -Wl,--no-insert-timestamp \
	-o unsigned.dll probe.c

cat >"$tmp/openssl.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/root.key" -out "$tmp/root.pem" \
	-days 36500 -subj "/CN=Warren Test Root" -config "$tmp/openssl.cnf" -extensions root
openssl req -newkey rsa:2048 -nodes -keyout "$tmp/leaf.key" -out "$tmp/leaf.csr" \
	-subj "/O=Warren Test/CN=Warren Test Signer" -config "$tmp/openssl.cnf"
openssl x509 -req -in "$tmp/leaf.csr" -CA "$tmp/root.pem" -CAkey "$tmp/root.key" \
	-CAcreateserial -out "$tmp/leaf.pem" -days 36500 -extfile "$tmp/openssl.cnf" -extensions leaf
cat "$tmp/leaf.pem" "$tmp/root.pem" >"$tmp/chain.pem"
rm -f signed.dll
osslsigncode sign -certs "$tmp/chain.pem" -key "$tmp/leaf.key" -h sha256 \
	-in unsigned.dll -out signed.dll
osslsigncode verify -CAfile "$tmp/root.pem" signed.dll >/dev/null
