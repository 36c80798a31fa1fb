import { closestKey } from '../core/option-checks.js';
import {
  HELP_OPTION,
  parseCliArguments,
  type CliCommand,
  type CliOption,
  type CliOutput,
} from './cli-command.js';
import { CliMessages } from './cli.messages.js';
import { keygenCommand } from './keygen.js';
import { packageVersion } from './package-version.js';
import { storeKeyCommand } from './store-key.js';

export type { CliOutput } from './cli-command.js';

/** The commands, in the order the help lists them. */
const COMMANDS: readonly CliCommand[] = [keygenCommand, storeKeyCommand];

/** What the CLI takes before (instead of) a command. */
const GLOBAL_OPTIONS: Readonly<Record<string, CliOption>> = {
  help: HELP_OPTION,
  version: { type: 'boolean', short: 'v' },
};

const STDIO: CliOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * Runs the `nestjs-mesh-session` command: `keygen`, `store-key`, `help [command]`, `--help`
 * and `--version`, and `<command> --help`. A mistake prints one line naming it (with the
 * closest known command or option) and where the usage is, and exits with 2.
 *
 * @param args the arguments after the binary's name, such as `['keygen', 'my-service']`
 * @param output where to print
 * @returns the exit code: 0 on success, 1 on an error, 2 on bad usage
 * @example
 * ```sh
 * npx nestjs-mesh-session keygen my-service
 * npx nestjs-mesh-session store-key
 * npx nestjs-mesh-session --help
 * ```
 */
export async function runCli(args: readonly string[], output: CliOutput = STDIO): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined) {
    output.err(`${CliMessages.cliCommandNeeded()}\n\n${generalUsage()}`);
    return 2;
  }
  if (name.startsWith('-')) return runGlobalOptions(args, output);
  if (name === 'help') return runHelp(rest, output);
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    return usageError(output, CliMessages.cliUnknownCommand(name, closestCommand(name)));
  }
  const parsed = parseCliArguments(rest, command.options);
  if (typeof parsed === 'string') return usageError(output, parsed, command);
  if (parsed.values.help === true) {
    output.out(command.usage());
    return 0;
  }
  const result = await command.run(parsed, output);
  return typeof result === 'string' ? usageError(output, result, command) : result;
}

/** `--help` or `--version` without a command. */
function runGlobalOptions(args: readonly string[], output: CliOutput): number {
  const parsed = parseCliArguments(args, GLOBAL_OPTIONS);
  if (typeof parsed === 'string') return usageError(output, parsed);
  const [extra] = parsed.positionals;
  if (extra !== undefined) return usageError(output, CliMessages.cliUnexpectedArgument(extra));
  if (parsed.values.help === true) {
    output.out(generalUsage());
    return 0;
  }
  const version = packageVersion();
  if (version === undefined) {
    output.err(`${CliMessages.cliVersionUnknown()}\n`);
    return 1;
  }
  output.out(`${version}\n`);
  return 0;
}

/** `help` and `help <command>`. */
function runHelp(args: readonly string[], output: CliOutput): number {
  const [name, extra] = args;
  if (extra !== undefined) return usageError(output, CliMessages.cliUnexpectedArgument(extra));
  if (name === undefined) {
    output.out(generalUsage());
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    return usageError(output, CliMessages.cliUnknownCommand(name, closestCommand(name)));
  }
  output.out(command.usage());
  return 0;
}

/** Prints a usage mistake and where the usage is; exit code 2. */
function usageError(output: CliOutput, message: string, command?: CliCommand): number {
  output.err(`${message}\n${CliMessages.cliSeeHelp(command?.name)}\n`);
  return 2;
}

function closestCommand(name: string): string | undefined {
  return closestKey(name, [...COMMANDS.map((command) => command.name), 'help']);
}

function generalUsage(): string {
  return CliMessages.cliUsage(
    COMMANDS.map((command) => ({ usage: command.synopsis, summary: command.summary })),
  );
}
