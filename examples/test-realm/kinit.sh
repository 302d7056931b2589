#!/usr/bin/env bash
# A throwaway Kerberos realm for a shell test: MIT's kinit gets a ticket from it.
set -euo pipefail
coproc REALM { exec kdc test-realm --principal alice:alice-pw; }
pid=$REALM_PID
trap 'kill "$pid" 2>/dev/null || true' EXIT
read -r info <&"${REALM[0]}"   # the one JSON line, printed when the KDC is ready
field() { node -p "JSON.parse(process.argv[1]).$1" "$info"; }
realm=$(field realm)
export KRB5_CONFIG=$(field krb5_conf) KRB5CCNAME=FILE:$(field dir)/alice.cc
echo alice-pw | kinit alice >/dev/null
klist | grep -F "krbtgt/$realm@$realm"
kill "$pid"   # SIGTERM: the realm stops and removes its folder
wait "$pid"
