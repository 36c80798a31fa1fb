import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { runCli } from '../../lib/cli/cli.js';
import { CliMessages } from '../../lib/cli/cli.messages.js';
import { resolveRedisSessionStoreOptions } from '../../lib/stores/redis/redis-session-store.options.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) },
  };
}

/** Runs the CLI and returns its exit code and what it printed where. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { out, err, io } = capture();
  const code = await runCli(args, io);
  return { code, out: out.join(''), err: err.join('') };
}

function pems(text: string): { privateKey: string; publicKey: string } {
  const privateKey = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n/.exec(
    text,
  )?.[0];
  const publicKey = /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----\n/.exec(text)?.[0];
  return { privateKey: privateKey as string, publicKey: publicKey as string };
}

function expectPair({ privateKey, publicKey }: { privateKey: string; publicKey: string }): void {
  const priv = createPrivateKey(privateKey);
  const pub = createPublicKey(publicKey);
  expect(priv.asymmetricKeyType).toBe('ed25519');
  const data = Buffer.from('proof');
  expect(verify(null, data, pub, sign(null, data, priv))).toBe(true);
}

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};

describe('nestjs-mesh-session (the CLI)', () => {
  it('is the package bin', () => {
    expect(pkg.bin['nestjs-mesh-session']).toBe('./dist/cli/main.js');
    expect(readFileSync('lib/cli/main.ts', 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it.each([['--version'], ['-v']])('prints the package version with %s', async (flag) => {
    expect(await cli(flag)).toEqual({ code: 0, out: `${pkg.version}\n`, err: '' });
  });

  it.each([['--help'], ['-h'], ['help']])('lists the commands and options with %s', async (arg) => {
    const { code, out, err } = await cli(arg);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toMatch(/^Usage: nestjs-mesh-session <command> \[options\]/);
    expect(out).toMatch(/^ {2}keygen <service-id> +a new Ed25519 identity key pair/m);
    expect(out).toMatch(
      /^ {2}store-key +a new 32-byte encryption key for the Redis session store/m,
    );
    expect(out).toMatch(/^ {2}-v, --version/m);
  });

  it.each([
    [['keygen', '--help'], 'keygen'],
    [['keygen', 'svc', '-h'], 'keygen'],
    [['help', 'keygen'], 'keygen'],
    [['store-key', '--help'], 'store-key'],
    [['help', 'store-key'], 'store-key'],
  ])('prints the help of a command for %j', async (args, command) => {
    const { code, out, err } = await cli(...args);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toBe(
      command === 'keygen' ? CliMessages.cliKeygenUsage() : CliMessages.cliStoreKeyUsage(),
    );
    expect(out).toMatch(new RegExp(`^Usage: nestjs-mesh-session ${command}`));
  });

  it.each([
    [[], CliMessages.cliCommandNeeded()],
    [['kegen', 'svc'], CliMessages.cliUnknownCommand('kegen', 'keygen')],
    [['storekey'], CliMessages.cliUnknownCommand('storekey', 'store-key')],
    [['rotate'], CliMessages.cliUnknownCommand('rotate', undefined)],
    [['help', 'kegen'], CliMessages.cliUnknownCommand('kegen', 'keygen')],
    [['--verison'], CliMessages.cliUnknownOption('--verison', '--version')],
    [['--version', 'keygen'], CliMessages.cliUnexpectedArgument('keygen')],
    [['keygen'], CliMessages.cliServiceIdNeeded()],
    [['keygen', 'a', 'b'], CliMessages.cliServiceIdNeeded()],
    [['keygen', '../etc/passwd'], CliMessages.cliServiceIdNeeded()],
    [['keygen', 'svc', '--overwrite'], CliMessages.cliUnknownOption('--overwrite', undefined)],
    [['keygen', 'svc', '--jsno'], CliMessages.cliUnknownOption('--jsno', '--json')],
    [['keygen', 'svc', '-x'], CliMessages.cliUnknownOption('-x', undefined)],
    [['keygen', 'svc', '--out'], CliMessages.cliOptionNeedsValue('--out', 'dir')],
    [['keygen', 'svc', '--out', '--json'], CliMessages.cliOptionNeedsValue('--out', 'dir')],
    [['keygen', 'svc', '--json=yes'], CliMessages.cliOptionTakesNoValue('--json')],
    [['store-key', 'now'], CliMessages.cliUnexpectedArgument('now')],
    [['store-key', '--lenght', '16'], CliMessages.cliUnknownOption('--lenght', undefined)],
  ])('answers %j with exit code 2 and one line saying what is wrong', async (args, message) => {
    const { code, out, err } = await cli(...args);
    expect(code).toBe(2);
    expect(out).toBe('');
    const [first, ...rest] = err.split('\n');
    expect(first).toBe(message);
    // Then where the usage is: the general one, or the command's.
    expect(rest.join('\n')).toMatch(/^(Run "nestjs-mesh-session (\S+ )?--help" for usage\.\n|\n)/);
  });

  it("points a command mistake at that command's help", async () => {
    expect((await cli('keygen', 'svc', '--jsno')).err).toContain(
      'Run "nestjs-mesh-session keygen --help" for usage.',
    );
    expect((await cli('kegen')).err).toContain('Run "nestjs-mesh-session --help" for usage.');
  });

  describe('keygen', () => {
    it('prints a matching Ed25519 PEM key pair, labelled for the service', async () => {
      const { code, out } = await cli('keygen', 'my-service');
      expect(code).toBe(0);
      expect(out).toMatch(/^# Identity key pair of "my-service" \(Ed25519\)\n/);
      expect(out).toMatch(/# Private key: give it to my-service only, and keep it secret\.\n/);
      expect(out).toMatch(/# Public key: pin it on the peers of my-service\.\n/);
      expectPair(pems(out));
    });

    it('prints JSON with --json, and a new pair each time', async () => {
      const a = await cli('keygen', 'svc', '--json');
      const b = await cli('keygen', '--json', 'svc');
      const first = JSON.parse(a.out) as {
        serviceId: string;
        privateKey: string;
        publicKey: string;
      };
      const second = JSON.parse(b.out) as { privateKey: string };
      expect(Object.keys(first)).toEqual(['serviceId', 'privateKey', 'publicKey']);
      expect(first.serviceId).toBe('svc');
      expectPair(first);
      expect(second.privateKey).not.toBe(first.privateKey);
    });

    it('writes <id>.key (0600) and <id>.pub with --out, and never overwrites them', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'keygen-'));
      try {
        const first = await cli('keygen', 'svc', '--out', dir);
        expect(first.code).toBe(0);
        const privateKey = await readFile(join(dir, 'svc.key'), 'utf8');
        const publicKey = await readFile(join(dir, 'svc.pub'), 'utf8');
        expectPair({ privateKey, publicKey });
        expect((await stat(join(dir, 'svc.key'))).mode & 0o777).toBe(0o600);
        expect(first.out).toBe(
          `Wrote ${join(dir, 'svc.key')} (private, keep it secret) and ${join(dir, 'svc.pub')} (public).\n`,
        );

        const again = await cli('keygen', 'svc', `--out=${dir}`);
        expect(again.code).toBe(1);
        expect(again.err).toMatch(/^Could not write the key pair: /);
        expect(await readFile(join(dir, 'svc.key'), 'utf8')).toBe(privateKey);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('store-key', () => {
    it('prints a fresh base64 32-byte key alone on its line, which the Redis store takes', async () => {
      const first = await cli('store-key');
      const second = await cli('store-key');
      expect(first.code).toBe(0);
      expect(first.err).toBe('');
      expect(first.out).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
      const key = Buffer.from(first.out.trim(), 'base64');
      expect(key).toHaveLength(32);
      expect(second.out).not.toBe(first.out);
      const resolved = resolveRedisSessionStoreOptions({
        url: 'redis://127.0.0.1:6379',
        encryptionKeys: [key],
      });
      expect(resolved.encryptionKeys[0].equals(key)).toBe(true);
    });

    it('says in its help where the key goes', async () => {
      const { out } = await cli('store-key', '--help');
      expect(out).toContain("encryptionKeys: [Buffer.from(process.env.MESH_STORE_KEY, 'base64')]");
      expect(out).toMatch(/put a new key first/);
    });
  });
});
