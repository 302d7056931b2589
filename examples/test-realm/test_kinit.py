import os
import subprocess


def test_kinit_password(realm, tmp_path):
    env = {**os.environ, "KRB5_CONFIG": realm["krb5_conf"], "KRB5CCNAME": f"FILE:{tmp_path}/cc"}
    password = realm["principals"]["alice"]["password"]
    subprocess.run(["kinit", "alice"], input=password + "\n", text=True, env=env, check=True, capture_output=True)
    klist = subprocess.run(["klist"], env=env, text=True, check=True, capture_output=True).stdout
    assert f"krbtgt/{realm['realm']}@{realm['realm']}" in klist


def test_kinit_keytab(realm, tmp_path):
    env = {**os.environ, "KRB5_CONFIG": realm["krb5_conf"], "KRB5CCNAME": f"FILE:{tmp_path}/cc"}
    keytab = realm["principals"]["HTTP/localhost"]["keytab"]
    subprocess.run(["kinit", "-k", "-t", keytab, "HTTP/localhost"], env=env, check=True, capture_output=True)
