"""Soak load: LMTP deliveries (RFC 2033) with Python's smtplib.LMTP, one
message every INTERVAL ms to the recipients in turn, over one connection
(reopened every 500 messages or after an error). One JSON line per message:
  {"op": "lmtp", "rcpt": "soak1", "ms": .., "ok": true, "seq": N}
Stops on SIGTERM after the message in flight.

usage: lmtp_worker.py PORT INTERVAL_MS RCPT...
"""
import json, signal, smtplib, sys, time

port, interval = int(sys.argv[1]), float(sys.argv[2]) / 1000
rcpts = sys.argv[3:]
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
conn = None
seq = 0
next_at = time.monotonic()
while not stop:
    rcpt = rcpts[seq % len(rcpts)]
    seq += 1
    body = ('From: soak@lab.test\r\nTo: %s@lab.test\r\nSubject: soak %d\r\n\r\n' % (rcpt, seq)) + ('soak line %d\r\n' % seq) * 40
    t0 = time.monotonic()
    try:
        if conn is None or seq % 500 == 0:
            if conn is not None:
                conn.quit()
            conn = smtplib.LMTP('127.0.0.1', port, timeout=60)
        conn.sendmail('soak@lab.test', [rcpt], body)
        out = {'op': 'lmtp', 'rcpt': rcpt, 'ok': True, 'seq': seq, 'ms': (time.monotonic() - t0) * 1000}
    except (smtplib.SMTPException, OSError) as e:
        conn = None
        out = {'op': 'lmtp', 'rcpt': rcpt, 'ok': False, 'seq': seq, 'error': str(e)[:300]}
    sys.stdout.write(json.dumps(out) + '\n')
    sys.stdout.flush()
    next_at += interval
    time.sleep(max(0.0, next_at - time.monotonic()))
if conn is not None:
    try:
        conn.quit()
    except Exception:
        pass
