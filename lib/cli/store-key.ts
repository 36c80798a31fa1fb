import { randomBytes } from 'node:crypto';
import { HELP_OPTION, type CliArguments, type CliCommand, type CliOutput } from './cli-command.js';
import { CliMessages } from './cli.messages.js';

/** AES-256: `RedisSessionStore` refuses an encryption key of any other length. */
const STORE_KEY_LENGTH = 32;

/**
 * `nestjs-mesh-session store-key`: a new random 32-byte encryption key for the Redis session
 * store, in base64, alone on its line so that a shell can capture it.
 *
 * @example
 * ```sh
 * MESH_STORE_KEY="$(npx nestjs-mesh-session store-key)"
 * ```
 */
export const storeKeyCommand: CliCommand = {
  name: 'store-key',
  synopsis: 'store-key',
  summary: 'a new 32-byte encryption key for the Redis session store, in base64',
  options: { help: HELP_OPTION },
  usage: CliMessages.cliStoreKeyUsage,
  run: runStoreKey,
};

function runStoreKey({ positionals }: CliArguments, output: CliOutput): number | string {
  if (positionals.length > 0) return CliMessages.cliUnexpectedArgument(positionals[0]);
  output.out(`${randomBytes(STORE_KEY_LENGTH).toString('base64')}\n`);
  return 0;
}
