import { Console } from 'node:console';
import { createPrivateKey, KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { jest } from '@jest/globals';
import { ConsoleLogger, Logger } from '@nestjs/common';
import {
  MemorySessionStore,
  MeshClient,
  MeshSession,
  SessionManager,
  type MeshConnection,
} from '../../lib/index.js';
import { bindSessionKey } from '../../lib/core/mesh-session.js';
import { HandshakeService } from '../../lib/handshake/handshake.service.js';
import { RedisSessionStore } from '../../lib/redis.js';
import { SessionSlab } from '../../lib/stores/memory/session-slab.js';
import { RedisSessionCipher } from '../../lib/stores/redis/redis-session-cipher.js';
import { RedisSessionKeyVault } from '../../lib/stores/redis/redis-session-key-vault.js';
import { keys, platforms, startGreeter, type RunningApp } from '../e2e/handshake-fixtures.js';
import { RedisServer } from '../support/redis-server.js';

// No generic dump of an object that holds key material may show a key: not util.inspect (and so
// console.log), not JSON.stringify, not Nest's Logger, not structuredClone.

/** A secret and the texts that would give it away. */
interface Secret {
  name: string;
  encodings: Array<{ form: string; text: string }>;
  bytes: Buffer;
}

/** Every text form of `key` a dump could contain. */
function secretOf(name: string, key: Buffer): Secret {
  const bytes = [...key];
  return {
    name,
    bytes: Buffer.from(key),
    encodings: [
      { form: 'hex', text: key.toString('hex') },
      { form: 'spaced hex', text: key.toString('hex').replace(/(..)(?!$)/g, '$1 ') },
      { form: 'base64', text: key.toString('base64') },
      { form: 'base64 (unpadded)', text: key.toString('base64').replace(/=+$/, '') },
      { form: 'base64url', text: key.toString('base64url') },
      { form: 'JSON array', text: JSON.stringify(bytes).slice(0, -1) },
      { form: 'decimal bytes', text: bytes.join(',') },
      { form: 'spaced decimal bytes', text: bytes.join(', ') },
    ],
  };
}

/** The secrets of a private identity key: its raw bytes, its DER and its PEM body. */
function identitySecrets(name: string, pem: string): Secret[] {
  const key = createPrivateKey(pem);
  const raw = Buffer.from(key.export({ format: 'jwk' }).d as string, 'base64url');
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  const pemSecret = secretOf(`${name} (DER)`, der);
  pemSecret.encodings.push({ form: 'PEM body', text: body });
  return [secretOf(`${name} (raw)`, raw), pemSecret];
}

/** Collects what is written to it. */
function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/** What process.stdout and process.stderr receive while `fn` runs. */
function processOutput(fn: () => void): string {
  const written: string[] = [];
  const record = (chunk: unknown): boolean => {
    written.push(String(chunk));
    return true;
  };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(record);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(record);
  try {
    fn();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return written.join('');
}

/** Every binary buffer reachable from a value (for a structured clone). */
function binariesIn(value: unknown, seen = new Set<unknown>()): Buffer[] {
  if (value === null || typeof value !== 'object' || seen.has(value)) return [];
  seen.add(value);
  if (value instanceof ArrayBuffer) return [Buffer.from(value)];
  if (ArrayBuffer.isView(value)) {
    return [Buffer.from(value.buffer as ArrayBuffer)];
  }
  const found: Buffer[] = [];
  const entries =
    value instanceof Map
      ? [...value.keys(), ...value.values()]
      : value instanceof Set
        ? [...value]
        : Reflect.ownKeys(value).map((key) => (value as Record<PropertyKey, unknown>)[key]);
  for (const entry of entries) found.push(...binariesIn(entry, seen));
  return found;
}

/** Whether a private KeyObject is reachable from a value. */
function hasPrivateKeyObject(value: unknown, seen = new Set<unknown>()): boolean {
  if (value === null || typeof value !== 'object' || seen.has(value)) return false;
  seen.add(value);
  if (value instanceof KeyObject) return value.type !== 'public';
  const entries =
    value instanceof Map
      ? [...value.keys(), ...value.values()]
      : value instanceof Set
        ? [...value]
        : Reflect.ownKeys(value).map((key) => (value as Record<PropertyKey, unknown>)[key]);
  return entries.some((entry) => hasPrivateKeyObject(entry, seen));
}

function attempt(fn: () => string): string {
  try {
    return fn();
  } catch (error) {
    return `threw: ${(error as Error).message}`;
  }
}

/** One dump of a value: its text, and for a clone what it holds. */
interface Dump {
  dump: string;
  text: string;
  binaries?: Buffer[];
  privateKeyObject?: boolean;
}

/** The dumps of `value` that a framework or an error reporter might make. */
function dumpsOf(value: unknown): Dump[] {
  const consoleOut = capture();
  new Console({ stdout: consoleOut.stream, stderr: consoleOut.stream }).log(value);
  const dumps: Dump[] = [
    { dump: 'util.inspect', text: inspect(value) },
    {
      dump: 'util.inspect (showHidden, depth Infinity)',
      text: inspect(value, { showHidden: true, depth: Infinity }),
    },
    { dump: 'console.log', text: consoleOut.text() },
    { dump: 'JSON.stringify', text: attempt(() => String(JSON.stringify(value))) },
    { dump: 'Logger.log', text: processOutput(() => new Logger('Dump').log(value)) },
    { dump: 'Logger.error', text: processOutput(() => new Logger('Dump').error(value)) },
    {
      dump: 'ConsoleLogger (json)',
      text: processOutput(() => new ConsoleLogger('Dump', { json: true }).log(value)),
    },
  ];
  let clone: unknown;
  let cloned = false;
  try {
    clone = structuredClone(value);
    cloned = true;
  } catch {
    expect(() => structuredClone(value)).toThrow();
  }
  if (cloned) {
    dumps.push(
      {
        dump: 'structuredClone, inspected',
        text: inspect(clone, { showHidden: true, depth: Infinity }),
      },
      { dump: 'structuredClone, as JSON', text: attempt(() => String(JSON.stringify(clone))) },
    );
    dumps.push({
      dump: 'structuredClone',
      text: '',
      binaries: binariesIn(clone),
      privateKeyObject: hasPrivateKeyObject(clone),
    });
  }
  return dumps;
}

/** The leaks of `secrets` in every dump of `value`, as `dump: secret (form)` lines. */
function leaksOf(value: unknown, secrets: Secret[]): string[] {
  const leaks: string[] = [];
  for (const entry of dumpsOf(value)) {
    for (const secret of secrets) {
      for (const { form, text } of secret.encodings) {
        if (entry.text.includes(text)) leaks.push(`${entry.dump}: ${secret.name} (${form})`);
      }
      if (entry.binaries?.some((bytes) => bytes.includes(secret.bytes))) {
        leaks.push(`${entry.dump}: ${secret.name} (bytes)`);
      }
    }
    if (entry.privateKeyObject === true) leaks.push(`${entry.dump}: a private KeyObject`);
  }
  return leaks;
}

describe('no key material in any dump', () => {
  describe('memory', () => {
    const sessionKeys = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const secrets = sessionKeys.map((key, i) => secretOf(`session key ${i}`, key));
    let store: MemorySessionStore;
    let manager: SessionManager;

    beforeAll(async () => {
      store = new MemorySessionStore();
      manager = new SessionManager(store, { sessionTimeout: 60_000 });
      for (const [i, key] of sessionKeys.entries()) {
        await manager.createSession(`service-${i}`, key, { n: i });
      }
    });

    it('SessionManager', () => {
      expect(leaksOf(manager, secrets)).toEqual([]);
    });

    it('SessionManager with its own store', async () => {
      const own = new SessionManager(60_000);
      await own.createSession('billing', sessionKeys[0]);
      expect(leaksOf(own, secrets)).toEqual([]);
    });

    it('MemorySessionStore', () => {
      expect(leaksOf(store, secrets)).toEqual([]);
    });

    it('the memory vault (SessionSlab)', () => {
      const slab = new SessionSlab();
      for (const key of sessionKeys) {
        const session = new MeshSession(randomUUID(), 'svc', Buffer.from(key), 0, 0, 1);
        bindSessionKey(session, slab, slab.store(key, session));
      }
      expect(leaksOf(slab, secrets)).toEqual([]);
    });

    it('the sessions it hands out', async () => {
      const sessions = await Promise.all(
        ['service-0', 'service-1', 'service-2'].map((id) => manager.getSessionByServiceId(id)),
      );
      expect(sessions.every((session) => session !== undefined)).toBe(true);
      expect(leaksOf(sessions, secrets)).toEqual([]);
    });

    it('shows the class and harmless facts', () => {
      expect(inspect(store)).toBe('MemorySessionStore { sessions: 3 }');
      expect(JSON.parse(JSON.stringify(store))).toEqual({
        type: 'MemorySessionStore',
        sessions: 3,
      });
      expect(inspect(manager)).toMatch(/^SessionManager \{/);
    });
  });

  describe('Redis', () => {
    let server: RedisServer;
    let store: RedisSessionStore;
    const encryptionKeys = [randomBytes(32), randomBytes(32)];
    const sessionKey = randomBytes(32);
    const secrets = [
      secretOf('encryption key', encryptionKeys[0]),
      secretOf('old encryption key', encryptionKeys[1]),
      secretOf('session key', sessionKey),
    ];

    beforeAll(async () => {
      // Fails loudly, saying how to install it, when redis-server is missing.
      server = await RedisServer.start();
      store = new RedisSessionStore({ url: server.url, encryptionKeys, keyPrefix: 'dumps:' });
      await store.count();
    });

    afterAll(async () => {
      await store?.close();
      await server?.destroy();
    });

    it('RedisSessionStore, and a SessionManager over it', async () => {
      const manager = new SessionManager(store);
      const session = await manager.createSession('billing', sessionKey);
      // A session read back holds its key sealed, in a vault.
      const read = await manager.getSession(session.id);
      expect(read?.sessionKey.equals(sessionKey)).toBe(true);
      expect(leaksOf(store, secrets)).toEqual([]);
      expect(leaksOf(manager, secrets)).toEqual([]);
      expect(leaksOf(read, secrets)).toEqual([]);
      expect(inspect(store)).toMatch(/^RedisSessionStore \{/);
    });

    it('RedisSessionCipher', () => {
      const cipher = new RedisSessionCipher(encryptionKeys);
      expect(cipher.decrypt(cipher.encrypt(sessionKey, 'id'), 'id').equals(sessionKey)).toBe(true);
      expect(leaksOf(cipher, secrets)).toEqual([]);
      expect(inspect(cipher)).toBe('RedisSessionCipher { keys: 2 }');
    });

    it('RedisSessionKeyVault', () => {
      const cipher = new RedisSessionCipher(encryptionKeys);
      const vault = new RedisSessionKeyVault(cipher, cipher.encrypt(sessionKey, 'id'), 'id');
      expect(vault.copyKey().equals(sessionKey)).toBe(true);
      expect(leaksOf(vault, secrets)).toEqual([]);
    });
  });

  describe('handshake and client', () => {
    let greeter: RunningApp;
    let client: MeshClient;
    let connection: MeshConnection;
    let secrets: Secret[];

    beforeAll(async () => {
      greeter = await startGreeter(platforms[0], { store: new MemorySessionStore() });
      client = new MeshClient({
        serviceId: 'caller',
        privateKey: keys.caller.privateKey,
        services: { greeter: { url: greeter.url, publicKey: keys.greeter.publicKey } },
        timeout: 5_000,
      });
      connection = client.connect('greeter');
      expect(await connection.call('greet', { name: 'World' })).toMatchObject({
        message: 'Hello, World',
      });
      const [session] = await greeter.app.get(SessionManager).getSessionsByServiceId('caller');
      secrets = [
        ...identitySecrets('greeter identity key', keys.greeter.privateKey),
        ...identitySecrets('caller identity key', keys.caller.privateKey),
        secretOf('session key', session.sessionKey),
      ];
    });

    afterAll(async () => {
      await client?.disconnectAll();
      await greeter?.close();
    });

    it('a private KeyObject prints no key, but its clone is a usable key: holders hide it', () => {
      const key = createPrivateKey(keys.caller.privateKey);
      expect(leaksOf({ key }, secrets).filter((leak) => !leak.includes('KeyObject'))).toEqual([]);
      expect(structuredClone(key)).toBeInstanceOf(KeyObject);
    });

    it('HandshakeService, as the module builds it', () => {
      const service = greeter.app.get(HandshakeService);
      expect(service).toBeInstanceOf(HandshakeService);
      expect(leaksOf(service, secrets)).toEqual([]);
    });

    it("the greeter's SessionManager", () => {
      expect(leaksOf(greeter.app.get(SessionManager), secrets)).toEqual([]);
    });

    it('MeshClient', () => {
      expect(leaksOf(client, secrets)).toEqual([]);
      expect(inspect(client)).toMatch(/^MeshClient \{/);
    });

    it('MeshConnection, after a handshake', () => {
      expect(connection.sessionId).toBeDefined();
      expect(leaksOf(connection, secrets)).toEqual([]);
    });
  });
});
