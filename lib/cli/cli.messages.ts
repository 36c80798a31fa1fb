/**
 * Texts of the command-line tool.
 */
export const CliMessages = {
  /** The command is not one the CLI knows. */
  cliUnknownCommand: (command: string): string => `Unknown command "${command}".`,
  /** `--out` came without a directory. */
  cliOutNeedsDirectory: (): string => '--out needs a directory.',
  /** An option the command does not know. */
  cliUnknownOption: (option: string): string => `Unknown option "${option}".`,
  /** keygen got no service id, several, or one unfit for a file name. */
  cliServiceIdNeeded: (): string =>
    'keygen needs one service id of letters, digits, ".", "_" or "-" (at most 255).',
  /** keygen --out could not write the files. */
  cliWriteFailed: (reason: string): string => `Could not write the key pair: ${reason}`,
} as const;
