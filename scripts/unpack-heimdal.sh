#!/usr/bin/env bash
# Unpacks Debian's Heimdal 7.8 clients (kinit, kgetcred, klist and the
# libraries they load) into DIR (default .tools/heimdal) without installing
# them: heimdal-clients conflicts with MIT's krb5-user, which the other
# interop tests need. The Heimdal tests (test/kdc-heimdal*.test.ts) run the
# programs from there with LD_LIBRARY_PATH. Needs apt-get (no root: apt-get
# download works as any user) and dpkg-deb.
set -euo pipefail
dest="${1:-$(cd "$(dirname "$0")/.." && pwd)/.tools/heimdal}"
pkgs=(heimdal-clients libasn1-8-heimdal libgssapi3-heimdal libhcrypto5-heimdal libhdb9-heimdal
  libheimbase1-heimdal libheimntlm0-heimdal libhx509-5-heimdal libkadm5clnt7-heimdal libkadm5srv8-heimdal
  libkafs0-heimdal libkrb5-26-heimdal libotp0-heimdal libroken19-heimdal libsl0-heimdal libwind0-heimdal)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q "${pkgs[@]}" >/dev/null 2>"$work/apt.err") || { cat "$work/apt.err" >&2; exit 1; }
rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
for f in "$work"/*.deb; do dpkg-deb -x "$f" "$dest.tmp"; done
# Every library the programs need must resolve from the unpacked tree or the system.
if LD_LIBRARY_PATH="$dest.tmp/usr/lib/x86_64-linux-gnu" ldd "$dest.tmp/usr/bin/kgetcred" "$dest.tmp/usr/bin/kinit.heimdal" | grep 'not found' >&2; then exit 1; fi
rm -rf "$dest"
mv "$dest.tmp" "$dest"
# kinit --version exits 1 after printing its version: only what it prints matters here.
LD_LIBRARY_PATH="$dest/usr/lib/x86_64-linux-gnu" "$dest/usr/bin/kinit.heimdal" --version 2>&1 | head -1 || true
