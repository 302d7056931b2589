"""Soak load: POP3 AUTH GSSAPI sessions in a loop, as a script on
python3-gssapi and poplib would run them: each session a new security
context (mutual authentication), then STAT, RETR and DELE of every
message, QUIT. One JSON line per session on stdout:
  {"op": "pop3", "login_ms": .., "session_ms": .., "fetched": N, "ok": true}
  {"op": "pop3", "ok": false, "stage": "auth", "error": "..."}
Stops after the current session on SIGTERM. Uses KRB5_CONFIG / KRB5CCNAME.

usage: pop3_worker.py PORT
"""
import base64, json, poplib, signal, sys, time
import gssapi

port = int(sys.argv[1])
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
name = gssapi.Name('pop@localhost', gssapi.NameType.hostbased_service)


def say(d):
    sys.stdout.write(json.dumps(d) + '\n')
    sys.stdout.flush()


while not stop:
    t0 = time.monotonic()
    stage = 'connect'
    try:
        p = poplib.POP3('127.0.0.1', port, timeout=60)
        stage = 'auth'
        ctx = gssapi.SecurityContext(name=name, usage='initiate',
                                     flags=gssapi.RequirementFlag.mutual_authentication | gssapi.RequirementFlag.integrity)
        p._shortcmd('AUTH GSSAPI')
        r = p._shortcmd(base64.b64encode(ctx.step()).decode())
        while not ctx.complete:
            tok = ctx.step(base64.b64decode(r[2:]))
            r = p._shortcmd(base64.b64encode(tok or b'').decode())
        ctx.unwrap(base64.b64decode(r[2:]))
        p._shortcmd(base64.b64encode(ctx.wrap(b'\x01\x00\x00\x00', False).message).decode())
        t1 = time.monotonic()
        stage = 'transaction'
        count = p.stat()[0]
        for i in range(1, count + 1):
            p.retr(i)
            p.dele(i)
        p.quit()
        say({'op': 'pop3', 'ok': True, 'login_ms': (t1 - t0) * 1000, 'session_ms': (time.monotonic() - t0) * 1000, 'fetched': count})
    except (poplib.error_proto, gssapi.exceptions.GSSError, OSError) as e:
        say({'op': 'pop3', 'ok': False, 'stage': stage, 'error': str(e)[:300]})
        time.sleep(0.2)
