import { parseArgs } from 'node:util';
import { closestKey } from '../core/option-checks.js';
import { CliMessages } from './cli.messages.js';

/**
 * Where the CLI writes; `process.stdout` and `process.stderr` by default.
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * await runCli(['store-key'], { out: (t) => void lines.push(t), err: (t) => void lines.push(t) });
 * ```
 */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

/**
 * One option of a command: a flag, or an option with a value named `value` in messages.
 *
 * @example
 * ```ts
 * const options: Record<string, CliOption> = {
 *   json: { type: 'boolean' },
 *   out: { type: 'string', value: 'dir' }, // "--out needs dir"
 * };
 * ```
 */
export type CliOption =
  | { readonly type: 'boolean'; readonly short?: string }
  | { readonly type: 'string'; readonly short?: string; readonly value: string };

/**
 * What a command was given, once its options are checked.
 *
 * @example
 * ```ts
 * // keygen svc --out keys
 * const args: CliArguments = { values: { out: 'keys' }, positionals: ['svc'] };
 * ```
 */
export interface CliArguments {
  /** Each option given, by its long name: `true` for a flag, the value for a string option. */
  readonly values: Readonly<Record<string, string | true | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * A command of the `nestjs-mesh-session` binary. `help` is always an option of every command.
 *
 * @example
 * ```ts
 * const hello: CliCommand = {
 *   name: 'hello',
 *   synopsis: 'hello',
 *   summary: 'say hello',
 *   options: {},
 *   usage: () => 'Usage: nestjs-mesh-session hello\n',
 *   run: ({ positionals }, output) => {
 *     if (positionals.length > 0) return `Unexpected argument "${positionals[0]}".`;
 *     output.out('hello\n');
 *     return 0;
 *   },
 * };
 * ```
 */
export interface CliCommand {
  /** What is typed, such as `keygen`. */
  readonly name: string;
  /** The command with its arguments, for the general help, such as `keygen <service-id>`. */
  readonly synopsis: string;
  /** What it does, in a few words, for the general help. */
  readonly summary: string;
  /** Its options, by long name (`help` is added). */
  readonly options: Readonly<Record<string, CliOption>>;
  /** Its help page. */
  usage(): string;
  /**
   * Runs it.
   *
   * @returns the exit code (0 on success, 1 on an error), or the message of a usage mistake,
   *   which the CLI prints with where to find the usage and exit code 2
   */
  run(args: CliArguments, output: CliOutput): number | string | Promise<number | string>;
}

/**
 * `-h` and `--help`, which every command and the CLI itself take.
 *
 * @example
 * ```ts
 * options: { json: { type: 'boolean' }, help: HELP_OPTION },
 * ```
 */
export const HELP_OPTION: CliOption = { type: 'boolean', short: 'h' };

/**
 * Parses arguments with `node:util` `parseArgs`, then checks them against `options` so that
 * every mistake gets a one-line message: an unknown option names the closest known one, a
 * string option needs its value (a value that looks like an option does not count: write
 * `--out=-dir` for that), a flag takes none.
 *
 * @param args the arguments after the command name
 * @param options the options, by long name
 * @returns the values and positionals, or the message of the first mistake
 * @example
 * ```ts
 * parseCliArguments(['svc', '--jsn'], { json: { type: 'boolean' } });
 * // 'Unknown option "--jsn"; did you mean "--json"?'
 * ```
 */
export function parseCliArguments(
  args: readonly string[],
  options: Readonly<Record<string, CliOption>>,
): CliArguments | string {
  // Not strict: node's own errors would not suggest the closest option, so the tokens are
  // checked below instead.
  const { tokens } = parseArgs({
    args: [...args],
    options: Object.fromEntries(
      Object.entries(options).map(([name, { type, short }]) => [
        name,
        short === undefined ? { type } : { type, short },
      ]),
    ),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | true> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (option === undefined) {
      return CliMessages.cliUnknownOption(token.rawName, closestOption(token.rawName, options));
    }
    if (option.type === 'boolean') {
      if (token.value !== undefined) return CliMessages.cliOptionTakesNoValue(token.rawName);
      values[token.name] = true;
    } else {
      const value = token.value;
      if (value === undefined || (!token.inlineValue && value.startsWith('-'))) {
        return CliMessages.cliOptionNeedsValue(token.rawName, option.value);
      }
      values[token.name] = value;
    }
  }
  return { values, positionals };
}

/** The known long option nearest to a mistyped `--name`; none for an unknown `-x`. */
function closestOption(
  rawName: string,
  options: Readonly<Record<string, CliOption>>,
): string | undefined {
  if (!rawName.startsWith('--')) return undefined;
  const closest = closestKey(rawName.slice(2), Object.keys(options));
  return closest === undefined ? undefined : `--${closest}`;
}
