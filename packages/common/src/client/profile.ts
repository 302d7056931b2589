/**
 * MIT's profile syntax (krb5.conf, kdc.conf), as MIT's util/profile/prof_parse.c
 * reads it:
 *
 *   [section]            a top-level section; `[section]*` marks it final
 *   tag = value          a relation; values keep their order, duplicates kept
 *   tag = {              a subsection, closed by `}` (`}*` marks it final)
 *   tag* = value         a final relation
 *   "quoted \"value\""   quoted strings with \n \t \b \\ escapes
 *   ; comment / # comment   only as the first non-blank character of a line
 *   include FILE / includedir DIR   at the very start of a line
 *
 * A final node stops later files (KRB5_CONFIG is a colon list) from adding to
 * it, as `man krb5.conf` describes. Unknown sections and tags are kept: the
 * parser knows no schema.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type ProfileValue = string | ProfileSection;

export class ProfileSection {
  /** Relations and subsections by tag, each with its values in file order. */
  readonly entries = new Map<string, ProfileValue[]>();
  final = false;
  /** Tags written `tag* = value`: later files add no values to them. */
  readonly finalTags = new Set<string>();

  /** Every value under a tag (strings and subsections), in order. */
  values(tag: string): ProfileValue[] {
    return this.entries.get(tag) ?? [];
  }

  /** The string values under a tag, in order. */
  strings(tag: string): string[] {
    return this.values(tag).filter((v): v is string => typeof v === 'string');
  }

  /** The first subsection under a tag (MIT merges same-named sections). */
  section(tag: string): ProfileSection | undefined {
    return this.values(tag).find((v): v is ProfileSection => typeof v !== 'string');
  }

  /** Walk a path of subsection tags, then return the string values of the last tag. */
  lookup(path: readonly string[]): string[] {
    let node: ProfileSection | undefined = this;
    for (let i = 0; i < path.length - 1 && node; i++) node = node.section(path[i]!);
    return node ? node.strings(path[path.length - 1]!) : [];
  }

  add(tag: string, value: ProfileValue): void {
    const list = this.entries.get(tag);
    if (list) list.push(value);
    else this.entries.set(tag, [value]);
  }

  /** The subsection to add into, created if missing (same-named sections merge). */
  subsection(tag: string): ProfileSection {
    const existing = this.section(tag);
    if (existing) return existing;
    const s = new ProfileSection();
    this.add(tag, s);
    return s;
  }

  /**
   * Merge a later file's tree into this one. Values append after ours (first
   * value wins on lookup), and nothing is added under a node marked final.
   */
  merge(other: ProfileSection): void {
    if (this.final) return;
    for (const [tag, values] of other.entries) {
      if (this.finalTags.has(tag)) continue;
      if (other.finalTags.has(tag)) this.finalTags.add(tag);
      for (const v of values) {
        if (typeof v === 'string') {
          this.add(tag, v);
        } else {
          const mine = this.section(tag);
          if (mine) mine.merge(v);
          else this.add(tag, v);
        }
      }
    }
  }
}

export class ProfileSyntaxError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
  ) {
    super(`${message} (${file}, line ${line})`);
    this.name = 'ProfileSyntaxError';
  }
}

export interface ParseProfileOptions {
  /** Name used in error messages and as the base for relative includes. */
  fileName?: string;
  /** Reads an included file; default fs.readFileSync. */
  readFile?: (path: string) => string;
  /** Lists an includedir; default fs.readdirSync. */
  readDir?: (path: string) => string[];
  /** Includes already being read (guards against include loops). */
  seen?: Set<string>;
}

/** MIT prof_parse.c parse_quoted_string: the backslash escapes it knows. */
function unquote(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') break;
    if (c === '\\' && i + 1 < s.length) {
      const n = s[++i]!;
      out += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'b' ? '\b' : n;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * MIT includedir: only names made of letters, digits, '-' and '_', or ending
 * in ".conf", so editor backups and dpkg leftovers are skipped.
 */
function includedirWants(name: string): boolean {
  if (name.startsWith('.')) return false;
  return /^[A-Za-z0-9_-]+$/.test(name) || name.endsWith('.conf');
}

/** Parse the text of one profile file (and what it includes) into a tree. */
export function parseProfile(text: string, options: ParseProfileOptions = {}): ProfileSection {
  const file = options.fileName ?? '<string>';
  const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const readDir = options.readDir ?? ((p: string) => readdirSync(p));
  const seen = options.seen ?? new Set<string>();
  const root = new ProfileSection();
  // The open sections: stack[0] is the current [section], deeper ones are { } subsections.
  let stack: ProfileSection[] = [];
  const lines = text.split(/\r?\n/);

  const include = (path: string, lineNo: number): void => {
    if (seen.has(path)) throw new ProfileSyntaxError(`include loop on ${path}`, file, lineNo);
    seen.add(path);
    let t: string;
    try {
      t = readFile(path);
    } catch (e) {
      throw new ProfileSyntaxError(`cannot read included file ${path}: ${(e as Error).message}`, file, lineNo);
    }
    root.merge(parseProfile(t, { ...options, fileName: path, seen }));
    seen.delete(path);
  };

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    // Directives are recognised only at the very start of the line (MIT parse_line).
    const directive = /^(include|includedir)\s+(.*?)\s*$/.exec(raw);
    if (directive) {
      const [, kind, arg] = directive;
      if (kind === 'include') {
        include(arg!, lineNo);
      } else {
        let names: string[];
        try {
          names = readDir(arg!);
        } catch (e) {
          throw new ProfileSyntaxError(`cannot read include directory ${arg}: ${(e as Error).message}`, file, lineNo);
        }
        for (const n of names.filter(includedirWants).sort()) include(join(arg!, n), lineNo);
      }
      continue;
    }
    if (/^module\s/.test(raw)) continue; // MIT's plugin "module" directive: not for us.
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;

    if (line.startsWith('[')) {
      const close = line.indexOf(']');
      if (close < 0) throw new ProfileSyntaxError('missing "]" in section header', file, lineNo);
      const name = line.slice(1, close).trim();
      const section = root.subsection(name);
      const rest = line.slice(close + 1).trim();
      if (rest === '*') section.final = true;
      else if (rest !== '') throw new ProfileSyntaxError('text after section header', file, lineNo);
      stack = [section];
      continue;
    }
    if (line.startsWith('}')) {
      if (stack.length < 2) throw new ProfileSyntaxError('"}" without an open subsection', file, lineNo);
      const closed = stack.pop()!;
      if (line.slice(1).trim() === '*') closed.final = true;
      continue;
    }
    const current = stack[stack.length - 1];
    if (!current) throw new ProfileSyntaxError('relation outside of any [section]', file, lineNo);
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ProfileSyntaxError('expected "tag = value"', file, lineNo);
    let tag = line.slice(0, eq).trim();
    if (tag.startsWith('"')) tag = unquote(tag.slice(1));
    else if (/\s/.test(tag)) throw new ProfileSyntaxError(`tag "${tag}" contains blanks`, file, lineNo);
    let final = false;
    if (tag.length > 1 && tag.endsWith('*')) {
      final = true;
      tag = tag.slice(0, -1);
    }
    const value = line.slice(eq + 1).trim();
    if (value === '{') {
      const sub = new ProfileSection();
      sub.final = final;
      current.add(tag, sub);
      stack.push(sub);
      continue;
    }
    if (final) current.finalTags.add(tag);
    current.add(tag, value.startsWith('"') ? unquote(value.slice(1)) : value);
  }
  if (stack.length > 1) throw new ProfileSyntaxError('missing "}" at end of file', file, lines.length);
  return root;
}

/** Read several files in order (KRB5_CONFIG's colon list); missing files are skipped, as MIT does. */
export function readProfiles(paths: readonly string[]): { profile: ProfileSection; files: string[] } {
  const profile = new ProfileSection();
  const files: string[] = [];
  for (const p of paths) {
    let text: string;
    try {
      if (!statSync(p).isFile()) continue;
      text = readFileSync(p, 'utf8');
    } catch {
      continue;
    }
    profile.merge(parseProfile(text, { fileName: p }));
    files.push(p);
  }
  return { profile, files };
}
