import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { generateIdentityKeyPair, HandshakeError } from '../../lib/index.js';
import {
  ClientHandshake,
  createClientHello,
} from '../../lib/protocol/handshake/client-handshake.js';
import {
  createEphemeralKeyPair,
  createHandshakeNonce,
} from '../../lib/protocol/handshake/ephemeral-keys.js';
import { parseClientHello, parseServerHello } from '../../lib/protocol/handshake/hello-codec.js';
import {
  signWithIdentity,
  verifyWithAnyKey,
} from '../../lib/protocol/handshake/identity-signatures.js';
import { deriveSessionKey } from '../../lib/protocol/handshake/session-key-derivation.js';
import {
  encodeFields,
  serverHelloBytes,
} from '../../lib/protocol/handshake/transcript-encoding.js';

const caller = generateIdentityKeyPair();
const greeter = generateIdentityKeyPair();
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The same 32 bytes, with the two unused low bits of the last character set. */
function nonCanonical(value: string): string {
  const last = BASE64URL.indexOf(value.charAt(value.length - 1));
  return value.slice(0, -1) + BASE64URL.charAt(last | 1);
}
const callerKey = createPrivateKey(caller.privateKey);
const greeterKey = createPrivateKey(greeter.privateKey);

/** What a server answers to a client hello body, and the key it derives. */
function serverReply(body: string, identityKey = greeterKey) {
  const client = parseClientHello(JSON.parse(body));
  const ephemeral = createEphemeralKeyPair();
  const reply = {
    sessionId: '3b241101-e2bb-4255-8caf-4136c566a962',
    ephemeralKey: ephemeral.publicKey,
    nonce: createHandshakeNonce(),
    expiresAt: 1_700_000_000_000,
  };
  const key = deriveSessionKey({
    ownPrivateKey: ephemeral.privateKey,
    peerPublicKey: client.ephemeralKey,
    client,
    serverEphemeralKey: reply.ephemeralKey,
    serverNonce: reply.nonce,
  });
  const signature = signWithIdentity(serverHelloBytes(client, reply), identityKey);
  const text = JSON.stringify({
    version: 1,
    sessionId: reply.sessionId,
    ephemeralKey: reply.ephemeralKey.toString('base64url'),
    nonce: reply.nonce.toString('base64url'),
    expiresAt: reply.expiresAt,
    signature: signature.toString('base64url'),
  });
  return { text, key };
}

/** The reason a call throws as a HandshakeError. */
function reasonOf(call: () => unknown): string | undefined {
  try {
    call();
  } catch (error) {
    if (error instanceof HandshakeError) return error.reason;
    throw error;
  }
  return undefined;
}

function hello() {
  const ephemeral = createEphemeralKeyPair();
  return {
    ephemeral,
    client: createClientHello({
      clientId: 'caller',
      serverId: 'greeter',
      identityKey: callerKey,
      ephemeral,
      clientVersion: 'test/1',
    }),
  };
}

describe('handshake protocol', () => {
  it('length-prefixes every field, so that no two field lists encode alike', () => {
    expect(encodeFields(['ab', 'c'])).not.toEqual(encodeFields(['a', 'bc']));
    expect(encodeFields(['a', 1])).toEqual(
      Buffer.from([0, 0, 0, 1, 0x61, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1]),
    );
  });

  it('signs a hello that parses back to the same signed bytes and verifies', () => {
    const { client } = hello();
    const parsed = parseClientHello(JSON.parse(JSON.stringify(client.hello)));
    expect(parsed.signedBytes).toEqual(client.signedBytes);
    expect(
      verifyWithAnyKey(parsed.signedBytes, parsed.signature, [createPublicKey(caller.publicKey)]),
    ).toBe(true);
    const other = createPublicKey(generateIdentityKeyPair().publicKey);
    expect(verifyWithAnyKey(parsed.signedBytes, parsed.signature, [other])).toBe(false);
    expect(
      verifyWithAnyKey(parsed.signedBytes, parsed.signature, [
        other,
        createPublicKey(caller.publicKey),
      ]),
    ).toBe(true);
  });

  it('derives the same 32-byte key on both sides, and a different one for another transcript', () => {
    const { client, ephemeral } = hello();
    const server = createEphemeralKeyPair();
    const serverNonce = createHandshakeNonce();
    const serverKey = deriveSessionKey({
      ownPrivateKey: server.privateKey,
      peerPublicKey: client.ephemeralKey,
      client,
      serverEphemeralKey: server.publicKey,
      serverNonce,
    });
    const clientKey = deriveSessionKey({
      ownPrivateKey: ephemeral.privateKey,
      peerPublicKey: server.publicKey,
      client,
      serverEphemeralKey: server.publicKey,
      serverNonce,
    });
    expect(serverKey).toHaveLength(32);
    expect(clientKey.equals(serverKey)).toBe(true);
    const otherNonce = deriveSessionKey({
      ownPrivateKey: ephemeral.privateKey,
      peerPublicKey: server.publicKey,
      client,
      serverEphemeralKey: server.publicKey,
      serverNonce: createHandshakeNonce(),
    });
    expect(otherNonce.equals(serverKey)).toBe(false);
  });

  it('turns a low-order or malformed X25519 key into a HandshakeError', () => {
    const { client } = hello();
    const { privateKey } = generateKeyPairSync('x25519');
    for (const peer of [Buffer.alloc(32), Buffer.from('01'.padEnd(64, '0'), 'hex')]) {
      expect(() =>
        deriveSessionKey({
          ownPrivateKey: privateKey,
          peerPublicKey: peer,
          client,
          serverEphemeralKey: peer,
          serverNonce: createHandshakeNonce(),
        }),
      ).toThrow(HandshakeError);
    }
  });

  it('binds the server signature to the whole transcript', () => {
    const { client } = hello();
    const reply = {
      sessionId: '3b241101-e2bb-4255-8caf-4136c566a962',
      ephemeralKey: createEphemeralKeyPair().publicKey,
      nonce: createHandshakeNonce(),
      expiresAt: 1,
    };
    const bytes = serverHelloBytes(client, reply);
    expect(serverHelloBytes(client, { ...reply, expiresAt: 2 })).not.toEqual(bytes);
    expect(serverHelloBytes(hello().client, reply)).not.toEqual(bytes);
  });

  it.each<[string, (h: Record<string, unknown>) => unknown, RegExp]>([
    [
      'a padded base64url key',
      (h) => ({ ...h, ephemeralKey: `${h.ephemeralKey}=` }),
      /ephemeralKey/,
    ],
    [
      'a non-canonical last character',
      (h) => ({ ...h, nonce: nonCanonical(String(h.nonce)) }),
      /nonce/,
    ],
    [
      'standard base64',
      (h) => ({ ...h, signature: String(h.signature).replace(/-/g, '+').replace(/_/g, '/') + '+' }),
      /signature/,
    ],
    ['a control character in an id', (h) => ({ ...h, clientId: 'call\ner' }), /clientId/],
    ['a fractional timestamp', (h) => ({ ...h, timestamp: 1.5 }), /timestamp/],
  ])('refuses %s', (_name, change, reason) => {
    const { client } = hello();
    const changed = change({ ...client.hello });
    let error: unknown;
    try {
      parseClientHello(changed);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(HandshakeError);
    expect((error as HandshakeError).reason).toMatch(reason);
  });

  it('reads own fields only: an inherited field is neither required nor refused', () => {
    const { client } = hello();
    const withProto = Object.assign(Object.create({ admin: true }), client.hello) as object;
    expect(parseClientHello(withProto).signedBytes).toEqual(client.signedBytes);
  });

  it('completes the client half: the key the client derives is the one the server derived', () => {
    const handshake = new ClientHandshake({
      clientId: 'caller',
      serverId: 'greeter',
      identityKey: callerKey,
      clientVersion: 'test/1',
    });
    const sent = parseClientHello(JSON.parse(handshake.body()));
    expect(sent.hello).toMatchObject({ clientId: 'caller', serverId: 'greeter' });
    expect(sent.signedBytes).toEqual(handshake.hello.signedBytes);
    expect(
      verifyWithAnyKey(sent.signedBytes, sent.signature, [createPublicKey(caller.publicKey)]),
    ).toBe(true);

    const { text, key } = serverReply(handshake.body());
    // A rotating server pins two keys: either one verifies the reply.
    const pinned = [
      createPublicKey(generateIdentityKeyPair().publicKey),
      createPublicKey(greeter.publicKey),
    ];
    const session = handshake.complete(text, pinned);
    expect(session).toEqual({
      sessionId: '3b241101-e2bb-4255-8caf-4136c566a962',
      key,
      expiresAt: 1_700_000_000_000,
    });
  });

  it('refuses a reply that is not JSON, not signed by a pinned key, or made for another hello', () => {
    const pinned = [createPublicKey(greeter.publicKey)];
    const handshake = new ClientHandshake({
      clientId: 'caller',
      serverId: 'greeter',
      identityKey: caller.privateKey,
    });
    expect(reasonOf(() => handshake.complete('not json', pinned))).toBe('the reply is not JSON');
    expect(reasonOf(() => handshake.complete('{}', pinned))).toMatch(/^server hello lacks/);
    const impostor = createPrivateKey(generateIdentityKeyPair().privateKey);
    expect(
      reasonOf(() => handshake.complete(serverReply(handshake.body(), impostor).text, pinned)),
    ).toBe('the reply signature does not verify against the pinned key');
    const other = new ClientHandshake({
      clientId: 'caller',
      serverId: 'greeter',
      identityKey: callerKey,
    });
    expect(reasonOf(() => handshake.complete(serverReply(other.body()).text, pinned))).toBe(
      'the reply signature does not verify against the pinned key',
    );
    // The same reply completes the handshake it was made for.
    expect(reasonOf(() => other.complete(serverReply(other.body()).text, pinned))).toBeUndefined();
  });

  it('parses a server hello strictly', () => {
    const valid = {
      version: 1,
      sessionId: '3b241101-e2bb-4255-8caf-4136c566a962',
      ephemeralKey: createEphemeralKeyPair().publicKey.toString('base64url'),
      nonce: createHandshakeNonce().toString('base64url'),
      expiresAt: Date.now(),
      signature: Buffer.alloc(64, 1).toString('base64url'),
    };
    expect(parseServerHello(valid).hello).toEqual(valid);
    expect(() => parseServerHello({ ...valid, sessionId: 'x' })).toThrow(/UUID/);
    expect(() => parseServerHello({ ...valid, key: 'leak' })).toThrow(/unexpected field/);
    expect(() => parseServerHello({ ...valid, version: 2 })).toThrow(/version/);
  });
});
