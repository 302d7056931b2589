# A throwaway Kerberos realm for a pytest session: `kdc test-realm` prints one
# JSON line when its KDC is ready, and stops (removing its folder) when its
# standard input ends. Needs `kdc` on PATH (npm install @kpop/kdc, then
# node_modules/.bin) and MIT's kinit/klist.
import json
import subprocess

import pytest


@pytest.fixture(scope="session")
def realm():
    proc = subprocess.Popen(
        ["kdc", "test-realm", "--principal", "alice:alice-pw", "--service", "HTTP/localhost"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    info = json.loads(proc.stdout.readline())
    yield info
    proc.stdin.close()  # end of input: the realm stops and removes its folder
    proc.wait(timeout=30)
