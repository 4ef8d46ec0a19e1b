// The contract every script of this project keeps with its user: `--help` (or `-h`) prints the usage
// on stdout and exits 0; a bad argument (unknown, missing its value, or a value out of range) prints
// one line on stderr that names it and says where the help is, and exits 2 — never a stack trace.
// Parsing is node:util's parseArgs; this adds the usage text (generated from the same option table,
// so an option cannot be missing from it) and the one-line refusal.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  default?: string | boolean;
  // What the value looks like in the usage, e.g. 'N', 'DIR'.
  value?: string;
  description: string;
}

export interface CommandSpec<O extends Record<string, OptionSpec>> {
  // How a user runs it, e.g. 'npm run train --' or 'npx tsx bench/profile.ts'.
  invocation: string;
  // One or two sentences: what it does.
  summary: string;
  options: O;
  // Positional arguments, if it takes any: their synopsis (e.g. 'DIR...') and how many.
  positionals?: { synopsis: string; min: number; max: number };
  // Anything the usage should add after the options (defaults computed at run time, examples).
  notes?: string;
}

type Values<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: O[K]['type'] extends 'boolean' ? boolean : O[K]['default'] extends string ? string : string | undefined;
};

export interface CommandLine<O extends Record<string, OptionSpec>> {
  values: Values<O>;
  positionals: string[];
  // Refuses the command line: one line on stderr, exit status 2.
  fail(message: string): never;
  // --name's value as a number within bounds, or undefined when it was not given.
  number(name: keyof O & string, bounds?: { integer?: boolean; min?: number; max?: number }): number | undefined;
  // --name's value as a comma-separated list of numbers within bounds, e.g. --threads 1,2.
  numbers(name: keyof O & string, bounds?: { integer?: boolean; min?: number; max?: number }): number[] | undefined;
  // --name's value if it is one of `choices`, or undefined when it was not given.
  choice<C extends string>(name: keyof O & string, choices: readonly C[]): C | undefined;
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'print this help and exit' };

export function usage<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): string {
  const entries = Object.entries({ ...spec.options, help: HELP });
  const left = entries.map(([name, option]) =>
    `${option.short ? `-${option.short}, ` : '    '}--${name}${option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : ''}`);
  const width = Math.max(...left.map((text) => text.length)) + 2;
  const lines = entries.map(([, option], i) => {
    const fallback = option.type === 'string' && option.default !== undefined ? ` (default: ${option.default})` : '';
    // A description of several lines continues under its first.
    return `  ${left[i].padEnd(width)}${option.description.replaceAll('\n', `\n  ${' '.repeat(width)}`)}${fallback}`;
  });
  const synopsis = [spec.invocation, '[options]', spec.positionals?.synopsis].filter(Boolean).join(' ');
  return [`usage: ${synopsis}`, '', spec.summary, '', 'options:', ...lines, ...(spec.notes ? ['', spec.notes] : [])].join('\n');
}

// parseArgs's messages run over several lines and teach its own syntax; the user gets one line in ours.
function describeParseError(error: Error & { code?: string }, args: string[]): string {
  const first = error.message.split('\n')[0];
  const option = /'(-{1,2}[^' ]+)/.exec(first)?.[1];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option ?? first}`;
  if (error.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${/'([^']*)'/.exec(first)?.[1] ?? first}`;
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (/does not take an argument/.test(first)) return `${option} takes no value`;
    // Followed by something that looks like an option: a negative number, say.
    const next = args[args.indexOf(option) + 1];
    if (/ambiguous/.test(first) && next !== undefined) return `${option} needs a value; to give it ${JSON.stringify(next)}, write ${option}=${next}`;
    return `${option} needs a value`;
  }
  return first;
}

export function parseCommandLine<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>, args = process.argv.slice(2)): CommandLine<O> {
  const helpCommand = `${spec.invocation} --help`;
  const fail = (message: string): never => {
    process.stderr.write(`${spec.invocation.replace(/ --$/, '')}: ${message}; see ${helpCommand}\n`);
    process.exit(2);
  };
  const options = Object.fromEntries(
    Object.entries({ ...spec.options, help: HELP }).map(([name, { type, short, default: fallback }]) => [
      name,
      { type, ...(short ? { short } : {}), ...(fallback !== undefined ? { default: fallback } : {}) },
    ]),
  ) as NonNullable<ParseArgsConfig['options']>;
  // Asking for help wins over anything else on the line, even what would not parse.
  const beforeTerminator = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
  if (beforeTerminator.includes('--help') || beforeTerminator.includes('-h')) {
    process.stdout.write(`${usage(spec)}\n`);
    process.exit(0);
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, allowPositionals: spec.positionals !== undefined, strict: true });
  } catch (error) {
    return fail(describeParseError(error as Error, args));
  }
  const { positionals } = parsed;
  if (spec.positionals) {
    const { synopsis, min, max } = spec.positionals;
    if (positionals.length < min) fail(`missing ${synopsis}`);
    if (positionals.length > max) fail(`unexpected argument ${positionals[max]}`);
  }
  const values = parsed.values as Values<O>;
  const checked = (name: string, item: string, text: string, { integer = false, min = -Infinity, max = Infinity }) => {
    const value = item.trim() === '' ? Number.NaN : Number(item);
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      const range = min > -Infinity && max < Infinity ? ` from ${min} to ${max}` : min > -Infinity ? ` ≥ ${min}` : max < Infinity ? ` ≤ ${max}` : '';
      const what = `${integer ? 'an integer' : 'a number'}${range}`;
      fail(item === text
        ? `--${name} takes ${what}, not ${JSON.stringify(text)}`
        : `--${name} takes a comma-separated list, each ${what}; not ${JSON.stringify(item)} in ${JSON.stringify(text)}`);
    }
    return value;
  };
  return {
    values,
    positionals,
    fail,
    number(name, bounds = {}) {
      const text = values[name] as string | undefined;
      return text === undefined ? undefined : checked(name, text, text, bounds);
    },
    numbers(name, bounds = {}) {
      const text = values[name] as string | undefined;
      return text?.split(',').map((item) => checked(name, item, text, bounds));
    },
    choice(name, choices) {
      const text = values[name] as string | undefined;
      if (text === undefined) return undefined;
      const found = choices.find((choice) => choice === text);
      return found ?? fail(`--${name} takes ${choices.join(' or ')}, not ${JSON.stringify(text)}`);
    },
  };
}
