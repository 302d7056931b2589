/**
 * POSIX getopt(3) as MIT's tools use it (glibc getopt with an optstring such
 * as "r:fpFPn54aAVl:s:c:kit:RS:vX:CEI:T:"): clustered flags ("-fp"), option
 * arguments attached ("-l10h") or separate ("-l 10h"), "--" ends options, and
 * glibc's permutation (options may follow operands: "kinit alice -l 1h").
 * Long options exist only where MIT has them (kinit --request-pac).
 */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ParsedArgs {
  /** Options in order, with their argument when they take one. */
  options: { name: string; value?: string }[];
  operands: string[];
}

/**
 * @param optstring  letters; a letter followed by ':' takes an argument
 * @param longs      long option names accepted ("--name"), without argument
 */
export function getopt(argv: readonly string[], optstring: string, prog: string, longs: readonly string[] = []): ParsedArgs {
  const takesArg = new Map<string, boolean>();
  for (let i = 0; i < optstring.length; i++) {
    const c = optstring[i]!;
    if (c === ':') continue;
    takesArg.set(c, optstring[i + 1] === ':');
  }
  const options: ParsedArgs['options'] = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const name = arg.slice(2);
      if (!longs.includes(name)) throw new UsageError(`${prog}: unrecognized option '${arg}'`);
      options.push({ name: arg });
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      operands.push(arg);
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j]!;
      const wants = takesArg.get(c);
      if (wants === undefined) throw new UsageError(`${prog}: invalid option -- '${c}'`);
      if (!wants) {
        options.push({ name: c });
        continue;
      }
      let value = arg.slice(j + 1);
      if (value === '') {
        if (i + 1 >= argv.length) throw new UsageError(`${prog}: option requires an argument -- '${c}'`);
        value = argv[++i]!;
      }
      options.push({ name: c, value });
      break;
    }
  }
  return { options, operands };
}
