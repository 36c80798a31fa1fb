import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  generateIdentityKeyPair,
  type IdentityKeyPair,
} from '../protocol/handshake/identity-keys.js';
import { MAX_SERVICE_ID_LENGTH } from '../core/session.constants.js';
import { HELP_OPTION, type CliArguments, type CliCommand, type CliOutput } from './cli-command.js';
import { CliMessages } from './cli.messages.js';

// Used as a file name with --out: no separators, no dot files.
const SERVICE_ID = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${MAX_SERVICE_ID_LENGTH - 1}}$`);

/**
 * `nestjs-mesh-session keygen <service-id> [--json] [--out <dir>]`: a new Ed25519 identity key
 * pair for the handshake, printed in PEM form (labelled with where each key goes), as JSON, or
 * written to `<dir>/<service-id>.key` (mode 0600) and `<dir>/<service-id>.pub`, never
 * overwriting an existing file.
 *
 * @example
 * ```sh
 * npx nestjs-mesh-session keygen billing --out ./keys
 * ```
 */
export const keygenCommand: CliCommand = {
  name: 'keygen',
  synopsis: 'keygen <service-id>',
  summary: 'a new Ed25519 identity key pair for a service (the handshake)',
  options: { json: { type: 'boolean' }, out: { type: 'string', value: 'dir' }, help: HELP_OPTION },
  usage: CliMessages.cliKeygenUsage,
  run: runKeygen,
};

async function runKeygen(
  { values, positionals }: CliArguments,
  output: CliOutput,
): Promise<number | string> {
  const [serviceId] = positionals;
  if (positionals.length !== 1 || !SERVICE_ID.test(serviceId)) {
    return CliMessages.cliServiceIdNeeded();
  }
  const pair = generateIdentityKeyPair();
  const outDir = values.out;
  if (typeof outDir === 'string') return writeKeyPair(serviceId, outDir, pair, output);
  output.out(
    values.json === true
      ? `${JSON.stringify({ serviceId, ...pair }, null, 2)}\n`
      : describeKeyPair(serviceId, pair),
  );
  return 0;
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
