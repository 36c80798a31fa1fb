import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  generateIdentityKeyPair,
  type IdentityKeyPair,
} from '../protocol/handshake/identity-keys.js';
import { CliMessages } from './cli.messages.js';

/** Where the CLI writes; `process.stdout` and `process.stderr` by default. */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

const USAGE = `Usage: nestjs-mesh-session keygen <service-id> [--json] [--out <dir>]

Prints a new Ed25519 identity key pair for <service-id>, in PEM form.
  --json        print { serviceId, privateKey, publicKey } as JSON
  --out <dir>   write <dir>/<service-id>.key (mode 0600) and <dir>/<service-id>.pub instead

The private key goes to <service-id> only: MeshSessionModule handshake.privateKey, or
MeshClientModule privateKey. The public key goes to its peers: trustedServices['<service-id>']
on the services it calls, services['<service-id>'].publicKey on the clients that call it.
`;

// Used as a file name with --out: no separators, no dot files.
const SERVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** What `keygen` was asked for. */
interface KeygenRequest {
  readonly serviceId: string;
  readonly json: boolean;
  readonly outDir: string | undefined;
}

/**
 * Runs the `nestjs-mesh-session` command.
 *
 * @param args the arguments after the command name, such as `['keygen', 'my-service']`
 * @param output where to print
 * @returns the exit code: 0 on success, 1 on an error, 2 on bad usage
 * @example
 * ```sh
 * npx nestjs-mesh-session keygen my-service
 * ```
 */
export async function runCli(
  args: readonly string[],
  output: CliOutput = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  },
): Promise<number> {
  const [command, ...rest] = args;
  if (command === 'help' || command === '--help' || command === '-h') {
    output.out(USAGE);
    return 0;
  }
  if (command !== 'keygen') {
    output.err(
      command === undefined ? USAGE : `${CliMessages.cliUnknownCommand(command)}\n\n${USAGE}`,
    );
    return 2;
  }
  const request = parseKeygenArgs(rest);
  if (typeof request === 'string') {
    output.err(`${request}\n\n${USAGE}`);
    return 2;
  }
  const pair = generateIdentityKeyPair();
  if (request.outDir !== undefined)
    return writeKeyPair(request.serviceId, request.outDir, pair, output);
  output.out(
    request.json
      ? `${JSON.stringify({ serviceId: request.serviceId, ...pair }, null, 2)}\n`
      : describeKeyPair(request.serviceId, pair),
  );
  return 0;
}

/** The arguments after `keygen`, or what is wrong with them. */
function parseKeygenArgs(args: readonly string[]): KeygenRequest | string {
  let json = false;
  let outDir: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--json') json = true;
    else if (arg === '--out') {
      outDir = args[++i];
      if (outDir === undefined) return CliMessages.cliOutNeedsDirectory();
    } else if (arg.startsWith('-')) {
      return CliMessages.cliUnknownOption(arg);
    } else positional.push(arg);
  }
  const [serviceId] = positional;
  if (positional.length !== 1 || !SERVICE_ID.test(serviceId)) {
    return CliMessages.cliServiceIdNeeded();
  }
  return { serviceId, json, outDir };
}

/** `--out`: the two files, the private one readable by its owner only. */
async function writeKeyPair(
  serviceId: string,
  outDir: string,
  { privateKey, publicKey }: IdentityKeyPair,
  output: CliOutput,
): Promise<number> {
  const dir = resolve(outDir);
  const keyFile = join(dir, `${serviceId}.key`);
  const pubFile = join(dir, `${serviceId}.pub`);
  try {
    await mkdir(dir, { recursive: true });
    // 'wx': never overwrite an identity key that may be in use.
    await writeFile(keyFile, privateKey, { mode: 0o600, flag: 'wx' });
    await writeFile(pubFile, publicKey, { mode: 0o644, flag: 'wx' });
  } catch (error) {
    output.err(`${CliMessages.cliWriteFailed((error as Error).message)}\n`);
    return 1;
  }
  output.out(`Wrote ${keyFile} (private, keep it secret) and ${pubFile} (public).\n`);
  return 0;
}

/** The default output: both PEM keys, each labelled with where it goes. */
function describeKeyPair(serviceId: string, { privateKey, publicKey }: IdentityKeyPair): string {
  return (
    `# Identity key pair of "${serviceId}" (Ed25519)\n` +
    `# Private key: give it to ${serviceId} only, and keep it secret.\n` +
    privateKey +
    `# Public key: pin it on the peers of ${serviceId}.\n` +
    publicKey
  );
}
