import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generateIdentityKeyPair } from '../protocol/handshake/identity-keys.js';
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
  let json = false;
  let outDir: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--json') json = true;
    else if (arg === '--out') {
      outDir = rest[++i];
      if (outDir === undefined) {
        output.err(`${CliMessages.cliOutNeedsDirectory()}\n\n${USAGE}`);
        return 2;
      }
    } else if (arg.startsWith('-')) {
      output.err(`${CliMessages.cliUnknownOption(arg)}\n\n${USAGE}`);
      return 2;
    } else positional.push(arg);
  }
  const [serviceId] = positional;
  if (positional.length !== 1 || !SERVICE_ID.test(serviceId)) {
    output.err(`${CliMessages.cliServiceIdNeeded()}\n\n${USAGE}`);
    return 2;
  }

  const { privateKey, publicKey } = generateIdentityKeyPair();
  if (outDir !== undefined) {
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
  if (json) {
    output.out(`${JSON.stringify({ serviceId, privateKey, publicKey }, null, 2)}\n`);
    return 0;
  }
  output.out(
    `# Identity key pair of "${serviceId}" (Ed25519)\n` +
      `# Private key: give it to ${serviceId} only, and keep it secret.\n` +
      privateKey +
      `# Public key: pin it on the peers of ${serviceId}.\n` +
      publicKey,
  );
  return 0;
}
