/**
 * Texts of the command-line tool: errors, each on one line, and the help pages.
 */
export const CliMessages = {
  /** The command is not one the CLI knows; the closest known one is suggested. */
  cliUnknownCommand: (command: string, closest: string | undefined): string =>
    `Unknown command "${command}"${closest === undefined ? '' : `; did you mean "${closest}"?`}`,
  /** An option the command (or the CLI, before a command) does not know. */
  cliUnknownOption: (option: string, closest: string | undefined): string =>
    `Unknown option "${option}"${closest === undefined ? '' : `; did you mean "${closest}"?`}`,
  /** A string option came without its value, such as `--out` without a directory. */
  cliOptionNeedsValue: (option: string, value: string): string =>
    `${option} needs ${value} (as in ${option} <${value}> or ${option}=<${value}>).`,
  /** A flag was given a value, such as `--json=yes`. */
  cliOptionTakesNoValue: (option: string): string => `${option} takes no value.`,
  /** An argument the command does not take. */
  cliUnexpectedArgument: (argument: string): string => `Unexpected argument "${argument}".`,
  /** No command was given. */
  cliCommandNeeded: (): string => 'Give a command.',
  /** keygen got no service id, several, or one unfit for a file name. */
  cliServiceIdNeeded: (): string =>
    'keygen needs one service id of letters, digits, ".", "_" or "-" (at most 255).',
  /** keygen --out could not write the files. */
  cliWriteFailed: (reason: string): string => `Could not write the key pair: ${reason}`,
  /** The package's own package.json could not be read. */
  cliVersionUnknown: (): string => 'Could not read the version from the package.json.',
  /** Printed under an error: where the usage is. */
  cliSeeHelp: (command?: string): string =>
    `Run "nestjs-mesh-session ${command === undefined ? '' : `${command} `}--help" for usage.`,

  /** `nestjs-mesh-session --help`. */
  cliUsage: (commands: readonly { usage: string; summary: string }[]): string =>
    [
      'Usage: nestjs-mesh-session <command> [options]',
      '',
      'Commands:',
      ...commands.map(({ usage, summary }) => `  ${usage.padEnd(22)}${summary}`),
      '',
      'Options:',
      "  -h, --help            print this help (or a command's: <command> --help)",
      '  -v, --version         print the version',
      '',
    ].join('\n'),

  /** `nestjs-mesh-session keygen --help`. */
  cliKeygenUsage:
    (): string => `Usage: nestjs-mesh-session keygen <service-id> [--json] [--out <dir>]

Prints a new Ed25519 identity key pair for <service-id>, in PEM form.
  --json        print { serviceId, privateKey, publicKey } as JSON
  --out <dir>   write <dir>/<service-id>.key (mode 0600) and <dir>/<service-id>.pub instead
  -h, --help    print this help

The private key goes to <service-id> only: MeshSessionModule handshake.privateKey, or
MeshClientModule privateKey. The public key goes to its peers: trustedServices['<service-id>']
on the services it calls, services['<service-id>'].publicKey on the clients that call it.
`,

  /** `nestjs-mesh-session store-key --help`. */
  cliStoreKeyUsage: (): string => `Usage: nestjs-mesh-session store-key

Prints a new random 32-byte key, in base64, for the Redis session store: it seals the session
keys the store writes to Redis (AES-256-GCM).
  -h, --help    print this help

Keep it secret, in your secret manager or environment (say MESH_STORE_KEY), and give it to the
store, decoded from base64:

  new RedisSessionStore({
    url: process.env.REDIS_URL,
    encryptionKeys: [Buffer.from(process.env.MESH_STORE_KEY, 'base64')],
  });

Every instance that shares the Redis store needs the same keys. To rotate, put a new key first
in encryptionKeys and keep the old ones until the sessions they sealed have expired.
`,
} as const;
