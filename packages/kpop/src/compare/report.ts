/**
 * The comparison's outputs: a terminal table, JSON lines (exactly the
 * documented fields), and an HTML report with each exchange as an
 * annotated transcript. The password never appears in any of them: it is
 * masked wherever the capture carried it.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAsReq, PaDataType, peekMessageType } from '@kpop/common';
import { kdcMessages, looksLikeTls, type Line } from './analyze.js';
import { publicRow, type CompareDetail } from './compare.js';

const yes = (b: boolean) => (b ? 'yes' : 'no');

export function table(rows: CompareDetail[]): string {
  const head = ['method', 'protocol', 'TLS', 'password on wire', 'offline guess', 'seconds', 'replay accepted', 'server verified', 'encrypted', 'client'];
  const body = rows.map((r) => [r.method, r.protocol, yes(r.tls), yes(r.password_on_wire), r.offline_guess, r.guess_seconds.toFixed(3), yes(r.replay_accepted), yes(r.server_verified), yes(r.encrypted), r.client.split(' ')[0]!]);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i]!)).join('  ').trimEnd();
  const lines = [fmt(head), width.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)];
  for (const r of rows) for (const n of r.notes.filter((x) => !/^ticket from/.test(x))) lines.push(`  ${r.method}${r.tls ? ' (TLS)' : ''}: ${n.replace(/[\x00-\x1f\x7f]/g, '?')}`);
  return lines.join('\n') + '\n';
}

export function jsonLines(rows: CompareDetail[]): string {
  return rows.map((r) => JSON.stringify(publicRow(r)) + '\n').join('');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A transcript line as shown: the password (and its base64 forms) masked, non-printables escaped. */
function shown(l: Line, password: string): { text: string; note?: string } {
  if (l.text === undefined) {
    const what = looksLikeTls(l.bytes) ? `TLS record (type ${l.bytes[0]}), ${l.bytes.length} bytes: unreadable` : `${l.bytes.length} binary bytes (Kerberos sendauth / AP-REQ)`;
    return { text: `[${what}]` };
  }
  let text = l.text;
  let note: string | undefined;
  if (text.includes(password)) {
    text = text.split(password).join('«password»');
    note = 'the password, in clear';
  }
  text = text.split(' ').map((tok) => {
    if (tok.length < 4 || tok.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(tok)) return tok;
    const dec = Buffer.from(tok, 'base64');
    if (dec.includes(Buffer.from(password))) {
      note = 'base64 of the password: readable by anyone';
      return '«base64 of the password»';
    }
    const t = dec.toString('latin1');
    if (/^[\x20-\x7e]+$/.test(t) && t.length < 200) {
      note ??= `base64 of: ${t}`;
    } else if (dec.subarray(0, 8).toString('latin1') === 'NTLMSSP\0') {
      note ??= `NTLM type ${dec.readUInt32LE(8)} message`;
    } else if (dec[0] === 0x60) {
      note ??= 'GSS-API token (Kerberos AP-REQ / AP-REP)';
    }
    return tok;
  }).join(' ');
  if (/^APOP /i.test(text)) note = 'MD5(timestamp ‖ password): guessable offline';
  return { text: text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`), ...(note ? { note } : {}) };
}

function hasEncTimestamp(msg: Buffer): boolean {
  try {
    return !!decodeAsReq(msg).padata?.some((p) => p.padataType === PaDataType.PA_ENC_TIMESTAMP);
  } catch {
    return false;
  }
}

const KDC_NAMES: Record<number, string> = { 10: 'AS-REQ', 11: 'AS-REP', 12: 'TGS-REQ', 13: 'TGS-REP', 30: 'KRB-ERROR' };

export function html(rows: CompareDetail[], password: string, when: Date = new Date()): string {
  const out: string[] = [];
  out.push('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>kpop lab compare</title><style>',
    'body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em}',
    'td.bad{background:#fdd}td.good{background:#dfd}pre{margin:0}ol.t{font-family:monospace;font-size:90%;list-style:none;padding:0}',
    'ol.t li{padding:.1em .3em;border-bottom:1px solid #eee}li.c2s{color:#036}li.s2c{color:#630}span.note{font-family:sans-serif;color:#a00;margin-left:1em}',
    '</style></head><body>');
  out.push(`<h1>What each login gives an eavesdropper</h1><p>Measured by <code>kpop lab compare</code> on ${esc(when.toISOString())}. Every value below comes from the capture of that run, not from a table of constants.</p>`);
  out.push('<table id="summary"><thead><tr><th>method</th><th>protocol</th><th>TLS</th><th>password on wire</th><th>offline guess</th><th>seconds</th><th>replay accepted</th><th>server verified</th><th>encrypted</th><th>client</th></tr></thead><tbody>');
  for (const [i, r] of rows.entries()) {
    const cell = (v: boolean, goodWhen: boolean) => `<td class="${v === goodWhen ? 'good' : 'bad'}">${yes(v)}</td>`;
    out.push(`<tr data-method="${esc(r.method)}" data-tls="${r.tls}"><td><a href="#m${i}">${esc(r.method)}</a></td><td>${r.protocol}</td><td>${yes(r.tls)}</td>${cell(r.password_on_wire, false)}`
      + `<td class="${r.offline_guess === 'found' ? 'bad' : 'good'}">${r.offline_guess}</td><td>${r.guess_seconds.toFixed(3)}</td>${cell(r.replay_accepted, false)}${cell(r.server_verified, true)}${cell(r.encrypted, true)}<td>${esc(r.client)}</td></tr>`);
  }
  out.push('</tbody></table>');
  for (const [i, r] of rows.entries()) {
    out.push(`<section id="m${i}" class="method"><h2>${esc(r.method)} (${r.protocol}${r.tls ? ', TLS' : ''})</h2>`);
    out.push(`<p>Client: ${esc(r.client)}. ${r.loggedIn ? 'It logged in.' : 'It did <b>not</b> log in.'} Offline guessing used ${esc(r.guessBasis)}; ${r.wordsTried} words tried, ${r.offline_guess}, in ${r.guess_seconds.toFixed(3)} s.`
      + ` Replaying the client's messages on a fresh connection: ${r.replay_accepted ? '<b>accepted</b>' : 'refused'}.</p>`);
    if (r.notes.length) out.push(`<ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
    const kdc = kdcMessages(r.kdc);
    if (kdc.length) {
      out.push('<h3>With the KDC</h3><ol class="t kdc">');
      for (const k of kdc) {
        const name = KDC_NAMES[peekMessageType(k.msg) ?? -1] ?? 'message';
        const note = name === 'AS-REQ' ? (hasEncTimestamp(k.msg) ? 'carries PA-ENC-TIMESTAMP: the time under the password\'s key, guessable offline' : 'no pre-authentication yet: the KDC will ask for it')
          : name === 'AS-REP' ? 'its enc-part is under the password\'s key too: guessable offline as well'
          : name === 'KRB-ERROR' ? 'PREAUTH_REQUIRED with the salt (ETYPE-INFO2): public' : name === 'TGS-REQ' ? 'under the TGT\'s session key: nothing to guess' : '';
        out.push(`<li class="${k.dir}">${k.dir === 'c2s' ? 'C → KDC' : 'KDC → C'} ${name}, ${k.msg.length} bytes${note ? `<span class="note">${esc(note)}</span>` : ''}</li>`);
      }
      out.push('</ol>');
    }
    out.push('<h3>With the mail server</h3><ol class="t mail">');
    for (const l of r.mail) {
      const s = shown(l, password);
      out.push(`<li class="${l.dir}">${l.dir === 'c2s' ? 'C: ' : 'S: '}${esc(s.text)}${s.note ? `<span class="note">${esc(s.note)}</span>` : ''}</li>`);
    }
    out.push('</ol></section>');
  }
  out.push('</body></html>');
  return out.join('\n') + '\n';
}

/** Writes DIR/compare/index.html (0600: the transcripts are a lab's logins) and returns its path. */
export function writeHtml(labDir: string, rows: CompareDetail[], password: string): string {
  const dir = join(labDir, 'compare');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'index.html');
  writeFileSync(file, html(rows, password), { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}
