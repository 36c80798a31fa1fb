import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { runCli } from '../../lib/cli/keygen.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) },
  };
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

describe('nestjs-mesh-session keygen', () => {
  it('is the package bin', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin['nestjs-mesh-session']).toBe('./dist/cli/main.js');
    expect(readFileSync('lib/cli/main.ts', 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('prints a matching Ed25519 PEM key pair, labelled for the service', async () => {
    const { out, io } = capture();
    expect(await runCli(['keygen', 'my-service'], io)).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/Identity key pair of "my-service" \(Ed25519\)/);
    expectPair(pems(text));
  });

  it('prints JSON with --json, and a new pair each time', async () => {
    const a = capture();
    const b = capture();
    await runCli(['keygen', 'svc', '--json'], a.io);
    await runCli(['keygen', '--json', 'svc'], b.io);
    const first = JSON.parse(a.out.join('')) as {
      serviceId: string;
      privateKey: string;
      publicKey: string;
    };
    const second = JSON.parse(b.out.join('')) as { privateKey: string };
    expect(first.serviceId).toBe('svc');
    expectPair(first);
    expect(second.privateKey).not.toBe(first.privateKey);
  });

  it('writes <id>.key (0600) and <id>.pub with --out, and never overwrites them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keygen-'));
    try {
      const first = capture();
      expect(await runCli(['keygen', 'svc', '--out', dir], first.io)).toBe(0);
      const privateKey = await readFile(join(dir, 'svc.key'), 'utf8');
      const publicKey = await readFile(join(dir, 'svc.pub'), 'utf8');
      expectPair({ privateKey, publicKey });
      expect((await stat(join(dir, 'svc.key'))).mode & 0o777).toBe(0o600);
      expect(first.out.join('')).not.toContain('PRIVATE KEY-----');

      const again = capture();
      expect(await runCli(['keygen', 'svc', '--out', dir], again.io)).toBe(1);
      expect(again.err.join('')).toMatch(/Could not write/);
      expect(await readFile(join(dir, 'svc.key'), 'utf8')).toBe(privateKey);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [[], 2],
    [['rotate'], 2],
    [['keygen'], 2],
    [['keygen', 'a', 'b'], 2],
    [['keygen', '../etc/passwd'], 2],
    [['keygen', 'svc', '--bogus'], 2],
    [['keygen', 'svc', '--out'], 2],
    [['--help'], 0],
  ])('answers %j with exit code %i and usage', async (args, code) => {
    const { out, err, io } = capture();
    expect(await runCli(args, io)).toBe(code);
    expect([...out, ...err].join('')).toMatch(/Usage: nestjs-mesh-session keygen <service-id>/);
  });
});
