import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { GrpcMethod, GrpcStreamMethod, Payload } from '@nestjs/microservices';
import { Metadata, status, type Client } from '@grpc/grpc-js';
import { map, toArray, type Observable } from 'rxjs';
import {
  CurrentSession,
  SessionGuard,
  SessionManager,
  SkipSession,
  signGrpcCall,
  signRequest,
  SigningMessages,
  type Session,
  type SessionStore,
} from '../../lib/index.js';
import { storeFactories } from '../support/store-factories.js';
import { failStoreCalls, recordStoreCalls } from '../support/store-faults.js';
import {
  encodeGreetRequest as encode,
  expectRefusal,
  greeterReplyDecoder,
  metadataOf,
  rawClientStreamCall,
  rawGreeterCall as rawCall,
  rawGrpcClient,
  signedCallMetadata,
  startGrpcApp,
  type GreetRequest,
  type GrpcApp,
} from '../support/grpc/grpc-app.js';
import { CapturingLogger } from './handshake-fixtures.js';

/*
 * SessionGuard on gRPC handlers in signature mode, over real gRPC on loopback: a signed call
 * passes, and every way of reusing or altering one is refused with UNAUTHENTICATED and the
 * HTTP guard's messages.
 */

const HOUR = 3_600_000;
const GREET = '/greeter.v1.Greeter/Greet';
const WHOAMI = '/greeter.v1.Greeter/Whoami';
const PUBLIC = '/greeter.v1.Greeter/Public';
const COLLECT = '/greeter.v1.Greeter/Collect';

/** What the guarded handlers received, in order. */
const received: unknown[] = [];

@Controller()
@UseGuards(SessionGuard)
class GreeterController {
  @GrpcMethod('Greeter', 'Greet')
  greet(@Payload() data: GreetRequest, @CurrentSession() session: Session): { message: string } {
    received.push(data);
    return { message: `Hello, ${data.name ?? ''} from ${session.serviceId}` };
  }

  @GrpcMethod('Greeter', 'Whoami')
  whoami(
    @Payload() data: object,
    @CurrentSession() session: Session,
  ): { serviceId: string; sessionId: string } {
    received.push(data);
    return { serviceId: session.serviceId, sessionId: session.id };
  }

  @SkipSession()
  @GrpcMethod('Greeter', 'Public')
  public(@Payload() data: GreetRequest): { message: string } {
    return { message: `Hello, ${data.name ?? ''}` };
  }

  // Served so that a client gets the guard's refusal rather than UNIMPLEMENTED; in signature
  // mode the guard refuses every client-streaming call, so this never runs.
  @GrpcStreamMethod('Greeter', 'Collect')
  collect(@Payload() messages: Observable<GreetRequest>): Observable<{ message: string }> {
    return messages.pipe(
      toArray(),
      map((all) => {
        received.push(...all);
        return { message: `Hello, ${all.map((message) => message.name).join(' and ')}` };
      }),
    );
  }
}

/** An HTTP route at the gRPC method's path, in the same hybrid app. */
@Controller('greeter.v1.Greeter')
@UseGuards(SessionGuard)
class HttpGreeterController {
  @Post('Greet')
  @HttpCode(200)
  greet(@Body() body: GreetRequest, @CurrentSession() session: Session): { message: string } {
    return { message: `Hello, ${body.name ?? ''} from ${session.serviceId}` };
  }
}

/**
 * A signer written from docs/grpc.md alone ("Signed calls: the specification"): node:crypto
 * and string building, nothing from the library.
 */
interface DocSignInput {
  path: string;
  message: Uint8Array;
  sessionId: string;
  key: Buffer;
  created?: number;
  nonce?: string;
  /** Covered components, in order. @default ['@path', 'content-digest'] */
  components?: string[];
  /** @default 'mesh' */
  label?: string;
}

function docSign(input: DocSignInput): Record<string, string> {
  const digest = `sha-256=:${createHash('sha256').update(input.message).digest('base64')}:`;
  const components = input.components ?? ['@path', 'content-digest'];
  const created = input.created ?? Math.floor(Date.now() / 1000);
  const nonce = input.nonce ?? randomBytes(32).toString('base64url');
  const params =
    `(${components.map((name) => `"${name}"`).join(' ')})` +
    `;created=${created};nonce="${nonce}";keyid="${input.sessionId}";alg="hmac-sha256"`;
  const values: Record<string, string> = { '@path': input.path, 'content-digest': digest };
  const base = [
    ...components.map((name) => `"${name}": ${values[name]}`),
    `"@signature-params": ${params}`,
  ].join('\n');
  const mac = createHmac('sha256', input.key).update(base, 'utf8').digest('base64');
  const label = input.label ?? 'mesh';
  return {
    'content-digest': digest,
    'signature-input': `${label}=${params}`,
    signature: `${label}=:${mac}:`,
  };
}

/**
 * The one-entry form of the same page ("The x-mesh-signature entry"): the signature base is
 * built as above, and the entry carries keyid, created, nonce and the MAC.
 */
function docSignEntry(input: Omit<DocSignInput, 'components' | 'label'>): Record<string, string> {
  const created = input.created ?? Math.floor(Date.now() / 1000);
  const nonce = input.nonce ?? randomBytes(32).toString('base64url');
  const { signature } = docSign({ ...input, created, nonce });
  const mac = signature.slice('mesh=:'.length, -1);
  return {
    'x-mesh-signature': `keyid=${input.sessionId};created=${created};nonce=${nonce};sig=${mac}`,
  };
}

const UNAUTHENTICATED = status.UNAUTHENTICATED;

/** A client-streaming Collect call of two messages, with the given metadata. */
const collect = (client: Client, metadata?: Metadata) =>
  rawClientStreamCall(
    client,
    COLLECT,
    [encode({ name: 'Ann' }), encode({ name: 'Bob' })],
    metadata,
    { deserialize: greeterReplyDecoder(COLLECT) },
  );

const stores = storeFactories.filter(({ name }) => name === 'memory' || name === 'redis');

describe.each(stores)('SessionGuard on gRPC handlers, signature mode, $name store', (factory) => {
  let grpcApp: GrpcApp;
  let store: SessionStore;
  let manager: SessionManager;
  let client: Client;
  let n = 0;

  beforeAll(async () => {
    store = await factory.create();
    grpcApp = await startGrpcApp({
      store,
      requestSigning: true,
      controllers: [GreeterController, HttpGreeterController],
      module: { sessionTimeout: HOUR, storeTimeout: 500 },
    });
    manager = grpcApp.app.get(SessionManager);
    client = rawGrpcClient(grpcApp.url, 'greeter.v1.Greeter');
  });

  afterAll(async () => {
    client?.close();
    await grpcApp?.close();
    await factory.teardown?.();
  });

  beforeEach(() => {
    received.length = 0;
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  async function newSession(serviceId = `svc-${++n}`): Promise<{ id: string; key: Buffer }> {
    const key = randomBytes(32);
    const session = await manager.createSession(serviceId, key);
    return { id: session.id, key };
  }

  function signed(
    path: string,
    bytes: Buffer,
    session: { id: string; key: Buffer },
    extra: { created?: number; nonce?: string; format?: 'entry' | 'rfc9421' } = {},
  ): Metadata {
    const { format, ...times } = extra;
    return signedCallMetadata(
      { path, message: bytes, sessionId: session.id, sessionKey: session.key, ...times },
      { format },
    );
  }

  const message = { name: 'World', tags: ['a', 'b'], count: 3 };

  it('lets a signed call through; the handler gets the message and the session', async () => {
    const session = await newSession('caller');
    const bytes = encode(message);
    const outcome = await rawCall(client, GREET, bytes, signed(GREET, bytes, session));
    expect(outcome.error).toBeUndefined();
    expect(outcome.reply).toEqual({ message: 'Hello, World from caller' });
    expect(received).toEqual([message]);
    expect(Reflect.ownKeys(received[0] as object)).toEqual(['name', 'tags', 'count']);
    const empty = Buffer.alloc(0);
    const whoami = await rawCall(client, WHOAMI, empty, signed(WHOAMI, empty, session));
    expect(whoami.reply).toEqual({ serviceId: 'caller', sessionId: session.id });
  });

  it('slides the session on a signed call', async () => {
    const session = await newSession();
    const bytes = encode(message);
    const later = Date.now() + 5_000;
    jest.spyOn(Date, 'now').mockReturnValue(later);
    const metadata = signed(GREET, bytes, session);
    expect((await rawCall(client, GREET, bytes, metadata)).reply).toBeDefined();
    const after = await store.get(session.id, later);
    expect(after?.lastActivity).toBe(later);
    expect(after?.expiresAt).toBe(later + HOUR);
  });

  it('refuses a replay: the same metadata twice', async () => {
    const session = await newSession();
    const bytes = encode(message);
    const metadata = signed(GREET, bytes, session);
    expect((await rawCall(client, GREET, bytes, metadata)).reply).toBeDefined();
    expectRefusal(
      await rawCall(client, GREET, bytes, metadata),
      UNAUTHENTICATED,
      'Request nonce already used',
    );
    expect(received).toHaveLength(1);
  });

  // One entry carries no digest: the server signs over the digest of what it received, so an
  // altered message fails the HMAC. The RFC 9421 entries carry one, checked first.
  describe.each([
    ['x-mesh-signature', 'entry', 'Invalid request signature'],
    ['RFC 9421 entries', 'rfc9421', 'Content-Digest does not match the body'],
  ] as const)('signed in %s', (_form, format, refusal) => {
    it.each([
      ['a field changed', encode({ ...message, name: 'Mallory' })],
      ['a field added', encode({ ...message, blob: Buffer.from('x') })],
      ['a field removed', encode({ name: 'World', count: 3 })],
      ['a repeated element added', encode({ ...message, tags: ['a', 'b', 'c'] })],
      // Field 15, varint 1: an unknown field the decoder skips, so the decoded message is equal.
      ['unknown-field bytes appended', Buffer.concat([encode(message), Buffer.from([0x78, 0x01])])],
      [
        'a field repeated later on the wire',
        Buffer.concat([encode(message), encode({ count: 3 })]),
      ],
    ])('refuses a message altered after signing: %s', async (_case, altered) => {
      const session = await newSession();
      const bytes = encode(message);
      const nonce = randomBytes(16).toString('base64url');
      expectRefusal(
        await rawCall(client, GREET, altered, signed(GREET, bytes, session, { nonce, format })),
        UNAUTHENTICATED,
        refusal,
      );
      expect(received).toEqual([]);
      // The nonce was not claimed: the genuine call with the same nonce still passes.
      expect(
        (await rawCall(client, GREET, bytes, signed(GREET, bytes, session, { nonce, format })))
          .reply,
      ).toBeDefined();
    });
  });

  it('refuses a signature made for another method', async () => {
    const session = await newSession();
    const bytes = encode(message);
    // Whoami decodes the Greet bytes as an Empty with unknown fields: only @path differs.
    expectRefusal(
      await rawCall(client, WHOAMI, bytes, signed(GREET, bytes, session)),
      UNAUTHENTICATED,
      'Invalid request signature',
    );
    const empty = Buffer.alloc(0);
    expectRefusal(
      await rawCall(client, GREET, empty, signed(WHOAMI, empty, session)),
      UNAUTHENTICATED,
      'Invalid request signature',
    );
    expect(received).toEqual([]);
  });

  it('ignores the signature on a @SkipSession() method, which needs none', async () => {
    const bytes = encode(message);
    expect((await rawCall(client, PUBLIC, bytes)).reply).toEqual({ message: 'Hello, World' });
  });

  it.each([
    ['two minutes old', -120],
    ['two minutes ahead', 120],
  ])('refuses a signature created %s', async (_case, offset) => {
    const session = await newSession();
    const bytes = encode(message);
    const created = Math.floor(Date.now() / 1000) + offset;
    expectRefusal(
      await rawCall(client, GREET, bytes, signed(GREET, bytes, session, { created })),
      UNAUTHENTICATED,
      'Request signature is outside the allowed clock skew',
    );
  });

  it('refuses a signature made with the wrong key', async () => {
    const session = await newSession();
    const bytes = encode(message);
    const metadata = signed(GREET, bytes, { id: session.id, key: randomBytes(32) });
    expectRefusal(
      await rawCall(client, GREET, bytes, metadata),
      UNAUTHENTICATED,
      'Invalid request signature',
    );
  });

  it("refuses a signature under another session's keyid", async () => {
    const mine = await newSession();
    const theirs = await newSession();
    const bytes = encode(message);
    const metadata = signed(GREET, bytes, { id: theirs.id, key: mine.key });
    expectRefusal(
      await rawCall(client, GREET, bytes, metadata),
      UNAUTHENTICATED,
      'Invalid request signature',
    );
    expect((await rawCall(client, GREET, bytes, signed(GREET, bytes, theirs))).reply).toBeDefined();
  });

  it('refuses a signature of an unknown, invalidated or revoked session', async () => {
    const bytes = encode(message);
    const unknown = signed(GREET, bytes, { id: randomUUID(), key: randomBytes(32) });
    expectRefusal(
      await rawCall(client, GREET, bytes, unknown),
      UNAUTHENTICATED,
      'Session not found or expired',
    );
    const ended = await newSession();
    await manager.invalidateSession(ended.id);
    expectRefusal(
      await rawCall(client, GREET, bytes, signed(GREET, bytes, ended)),
      UNAUTHENTICATED,
      'Session not found or expired',
    );
    const revoked = await newSession();
    await manager.updateSessionMetadata(revoked.id, { revoked: true });
    expectRefusal(
      await rawCall(client, GREET, bytes, signed(GREET, bytes, revoked)),
      UNAUTHENTICATED,
      'Session has been revoked',
    );
  });

  it('refuses an HTTP signature (covering @method and @target-uri) on a gRPC call', async () => {
    const session = await newSession();
    const bytes = encode(message);
    const http = signRequest({
      method: 'POST',
      url: `${grpcApp.httpUrl}${GREET}`,
      body: bytes,
      sessionId: session.id,
      sessionKey: session.key,
    });
    // '@method' and '@target-uri' are unknown components on gRPC: malformed, before any HMAC.
    expectRefusal(
      await rawCall(client, GREET, bytes, metadataOf({ ...http })),
      UNAUTHENTICATED,
      'Malformed request signature headers',
    );
    const handMade = docSign({
      path: GREET,
      message: bytes,
      sessionId: session.id,
      key: session.key,
      components: ['@path', 'content-digest', '@method'],
    });
    expectRefusal(
      await rawCall(client, GREET, bytes, metadataOf(handMade)),
      UNAUTHENTICATED,
      'Malformed request signature headers',
    );
    expect(received).toEqual([]);
  });

  it.each([
    ['only @path', ['@path']],
    ['only content-digest', ['content-digest']],
    ['nothing', []],
  ])('refuses a call signature covering %s as incomplete', async (_case, components) => {
    const session = await newSession();
    const bytes = encode(message);
    const metadata = docSign({
      path: GREET,
      message: bytes,
      sessionId: session.id,
      key: session.key,
      components,
    });
    expectRefusal(
      await rawCall(client, GREET, bytes, metadataOf(metadata)),
      UNAUTHENTICATED,
      'Call signature must cover "@path" and "content-digest", with created, nonce, keyid and alg',
    );
  });

  it('refuses a gRPC call signature replayed on the HTTP route of the same app', async () => {
    const session = await newSession();
    const body = Buffer.from(JSON.stringify({ name: 'World' }));
    // Signed over the exact bytes the HTTP request carries, for the path the route answers.
    const entries = signGrpcCall(
      { path: GREET, message: body, sessionId: session.id, sessionKey: session.key },
      { format: 'rfc9421' },
    );
    const res = await fetch(`${grpcApp.httpUrl}${GREET}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...entries },
      body,
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({
      statusCode: 401,
      message: 'Malformed request signature headers',
    });
    // The route itself works with an HTTP signature.
    const http = signRequest({
      method: 'POST',
      url: `${grpcApp.httpUrl}${GREET}`,
      body,
      sessionId: session.id,
      sessionKey: session.key,
    });
    const ok = await fetch(`${grpcApp.httpUrl}${GREET}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...http },
      body,
    });
    expect(ok.status).toBe(200);
  });

  it('refuses a call without signature metadata, even with a live session id', async () => {
    const session = await newSession();
    const bytes = encode(message);
    expectRefusal(
      await rawCall(client, GREET, bytes),
      UNAUTHENTICATED,
      'Missing request signature',
    );
    const idOnly = metadataOf({ 'x-mesh-session-id': session.id });
    expectRefusal(
      await rawCall(client, GREET, bytes, idOnly),
      UNAUTHENTICATED,
      'Missing request signature',
    );
    expect(received).toEqual([]);
  });

  it.each(['signature-input', 'signature', 'content-digest', 'x-mesh-signature'])(
    'refuses a call with %s sent twice',
    async (key) => {
      const session = await newSession();
      const bytes = encode(message);
      const format = key === 'x-mesh-signature' ? 'entry' : 'rfc9421';
      const metadata = signed(GREET, bytes, session, { format });
      metadata.add(key, metadata.get(key)[0] as string);
      expectRefusal(
        await rawCall(client, GREET, bytes, metadata),
        UNAUTHENTICATED,
        'Malformed request signature headers',
      );
    },
  );

  describe('the x-mesh-signature entry', () => {
    /** A valid entry for a fresh session, and a way to rewrite it. */
    async function entryFor(bytes: Buffer): Promise<string> {
      const session = await newSession();
      return signed(GREET, bytes, session).get('x-mesh-signature')[0] as string;
    }

    it.each([
      ['its fields in another order', (e: string) => e.split(';').reverse().join(';')],
      ['a field left out', (e: string) => e.replace(/;created=\d+/, '')],
      ['a field added', (e: string) => `${e};alg=hmac-sha256`],
      ['a space after a separator', (e: string) => e.replace(';', '; ')],
      ['a short MAC', (e: string) => e.replace(/sig=.{4}/, 'sig=')],
      ['a MAC in base64url', (e: string) => e.replace(/sig=.*$/, `sig=${'_'.repeat(43)}=`)],
      ['a nonce with a quote', (e: string) => e.replace(/nonce=./, 'nonce="')],
      ['a 15-character nonce', (e: string) => e.replace(/nonce=[^;]*/, `nonce=${'a'.repeat(15)}`)],
      ['a created with a leading zero', (e: string) => e.replace('created=', 'created=0')],
      ['upper-case names', (e: string) => e.replace('keyid=', 'KEYID=')],
      ['nothing', () => ''],
    ])('refuses one with %s as malformed, before any store lookup', async (_case, rewrite) => {
      const bytes = encode(message);
      const entry = rewrite(await entryFor(bytes));
      const reads = recordStoreCalls(store, 'get');
      expectRefusal(
        await rawCall(client, GREET, bytes, metadataOf({ 'x-mesh-signature': entry })),
        UNAUTHENTICATED,
        'Malformed request signature headers',
      );
      expect(reads()).toEqual([]);
      expect(received).toEqual([]);
    });

    it('refuses one beside any RFC 9421 entry, even a valid signature', async () => {
      const session = await newSession();
      const bytes = encode(message);
      const rfc = signed(GREET, bytes, session, { format: 'rfc9421' });
      for (const key of ['signature-input', 'signature', 'content-digest']) {
        const metadata = signed(GREET, bytes, session);
        metadata.set(key, rfc.get(key)[0] as string);
        expectRefusal(
          await rawCall(client, GREET, bytes, metadata),
          UNAUTHENTICATED,
          'Malformed request signature headers',
        );
      }
      expect(received).toEqual([]);
    });

    it('refuses a keyid that is not a session id, or names no session', async () => {
      const bytes = encode(message);
      const entry = await entryFor(bytes);
      expectRefusal(
        await rawCall(
          client,
          GREET,
          bytes,
          metadataOf({ 'x-mesh-signature': entry.replace(/keyid=[^;]*/, 'keyid=not-a-session') }),
        ),
        UNAUTHENTICATED,
        'Invalid session id',
      );
      expectRefusal(
        await rawCall(
          client,
          GREET,
          bytes,
          metadataOf({ 'x-mesh-signature': entry.replace(/keyid=[^;]*/, `keyid=${randomUUID()}`) }),
        ),
        UNAUTHENTICATED,
        'Session not found or expired',
      );
    });
  });

  it('refuses a call whose content-digest is left out though covered', async () => {
    const session = await newSession();
    const bytes = encode(message);
    const metadata = signed(GREET, bytes, session, { format: 'rfc9421' });
    metadata.remove('content-digest');
    expectRefusal(
      await rawCall(client, GREET, bytes, metadata),
      UNAUTHENTICATED,
      'Malformed request signature headers',
    );
  });

  it('answers UNAVAILABLE with retry-after: 1 when the store fails', async () => {
    const session = await newSession();
    const bytes = encode(message);
    failStoreCalls(store, 'get', new Error('connection refused'));
    const error = expectRefusal(
      await rawCall(client, GREET, bytes, signed(GREET, bytes, session)),
      status.UNAVAILABLE,
      'Session store unavailable',
    );
    expect(error.metadata.get('retry-after')).toEqual(['1']);
    expect(received).toEqual([]);
  });

  it('answers INVALID_ARGUMENT for undecodable bytes, however well signed', async () => {
    const session = await newSession();
    const bytes = Buffer.from([0xff, 0xff, 0xff]);
    expectRefusal(
      await rawCall(client, GREET, bytes, signed(GREET, bytes, session)),
      status.INVALID_ARGUMENT,
      'Request message cannot be decoded',
    );
  });

  it('refuses a client-streaming call, signed or not, before any store lookup and without a log line', async () => {
    const session = await newSession();
    const logger = grpcApp.logger as CapturingLogger;
    const logsBefore = logger.lines.length;
    const reads = recordStoreCalls(store, 'get');
    // No signature covers a stream of messages: one made over the first message, none, or a
    // live session id instead, the call is refused alike.
    for (const metadata of [
      signed(COLLECT, encode({ name: 'Ann' }), session),
      new Metadata(),
      metadataOf({ 'x-mesh-session-id': session.id }),
    ]) {
      expectRefusal(
        await collect(client, metadata),
        UNAUTHENTICATED,
        'Client-streaming calls cannot be signed',
      );
    }
    expect(SigningMessages.streamUnsignable()).toBe('Client-streaming calls cannot be signed');
    expect(reads()).toEqual([]);
    expect(received).toEqual([]);
    const lines = logger.lines.slice(logsBefore);
    expect(lines.filter((line) => line.includes('meshGrpcOptions'))).toEqual([]);
    expect(lines.filter((line) => line.startsWith('error '))).toEqual([]);
  });

  describe('a signer written from docs/grpc.md alone', () => {
    it('reproduces the worked example of the page', () => {
      const example = docSign({
        path: GREET,
        message: encode({ name: 'World' }),
        sessionId: '3b241101-e2bb-4255-8caf-4136c566a962',
        key: Buffer.from(Array.from({ length: 32 }, (_, i) => i)),
        created: 1767225600,
        nonce: 'n8Xk2QeZ7rVb1sLmPq4TcA',
      });
      expect(encode({ name: 'World' })).toEqual(Buffer.from('0a05576f726c64', 'hex'));
      expect(example).toEqual({
        'content-digest': 'sha-256=:SIVVIOnOr6ctqdiHmfUqUD/yqfVXvpHLjTxPSuLsqs0=:',
        'signature-input':
          'mesh=("@path" "content-digest");created=1767225600;nonce="n8Xk2QeZ7rVb1sLmPq4TcA";keyid="3b241101-e2bb-4255-8caf-4136c566a962";alg="hmac-sha256"',
        signature: 'mesh=:M5xHy5eFcMdhCNSDL2M82OXtnjdVOuolnP0qr3IX3Uo=:',
      });
      const empty = docSign({
        path: WHOAMI,
        message: Buffer.alloc(0),
        sessionId: 'x',
        key: Buffer.alloc(32),
      });
      expect(empty['content-digest']).toBe(
        'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:',
      );
    });

    it('is accepted by the guard, on a message and on an empty message', async () => {
      const session = await newSession('doc-caller');
      const bytes = encode(message);
      const metadata = docSign({
        path: GREET,
        message: bytes,
        sessionId: session.id,
        key: session.key,
      });
      const outcome = await rawCall(client, GREET, bytes, metadataOf(metadata));
      expect(outcome.error).toBeUndefined();
      expect(outcome.reply).toEqual({ message: 'Hello, World from doc-caller' });
      const empty = Buffer.alloc(0);
      const whoami = await rawCall(
        client,
        WHOAMI,
        empty,
        metadataOf(
          docSign({ path: WHOAMI, message: empty, sessionId: session.id, key: session.key }),
        ),
      );
      expect(whoami.reply).toEqual({ serviceId: 'doc-caller', sessionId: session.id });
    });

    it('reproduces the worked example in one entry, and is accepted in that form', async () => {
      expect(
        docSignEntry({
          path: GREET,
          message: encode({ name: 'World' }),
          sessionId: '3b241101-e2bb-4255-8caf-4136c566a962',
          key: Buffer.from(Array.from({ length: 32 }, (_, i) => i)),
          created: 1767225600,
          nonce: 'n8Xk2QeZ7rVb1sLmPq4TcA',
        }),
      ).toEqual({
        'x-mesh-signature':
          'keyid=3b241101-e2bb-4255-8caf-4136c566a962;created=1767225600;nonce=n8Xk2QeZ7rVb1sLmPq4TcA;sig=M5xHy5eFcMdhCNSDL2M82OXtnjdVOuolnP0qr3IX3Uo=',
      });
      const session = await newSession('doc-caller');
      for (const [i, bytes] of [encode(message), Buffer.alloc(0)].entries()) {
        const entry = docSignEntry({
          path: GREET,
          message: bytes,
          sessionId: session.id,
          key: session.key,
          nonce: `abcdefghijklmno${i}`,
        });
        const outcome = await rawCall(client, GREET, bytes, metadataOf(entry));
        expect(outcome.error).toBeUndefined();
        // The nonce is spent: the same entry again is a replay.
        expectRefusal(
          await rawCall(client, GREET, bytes, metadataOf(entry)),
          UNAUTHENTICATED,
          'Request nonce already used',
        );
      }
    });

    it('is accepted with another label, a 16-character nonce and the other component order', async () => {
      const session = await newSession();
      const bytes = encode(message);
      for (const variant of [
        { label: 'sig1' },
        { nonce: 'abcdefghijklmnop' },
        { components: ['content-digest', '@path'] },
      ]) {
        const metadata = docSign({
          path: GREET,
          message: bytes,
          sessionId: session.id,
          key: session.key,
          ...variant,
        });
        const outcome = await rawCall(client, GREET, bytes, metadataOf(metadata));
        expect({ variant, error: outcome.error?.details }).toEqual({ variant, error: undefined });
      }
    });

    it('is refused when it breaks a rule of the page', async () => {
      const session = await newSession();
      const bytes = encode(message);
      const base = { path: GREET, message: bytes, sessionId: session.id, key: session.key };
      const cases: [Record<string, string>, string][] = [
        // A nonce shorter than 16 characters.
        [docSign({ ...base, nonce: 'short' }), 'Malformed request signature headers'],
        // Labels differ between signature-input and signature.
        [
          { ...docSign(base), signature: docSign(base).signature.replace(/^mesh=/, 'other=') },
          'Malformed request signature headers',
        ],
        // Not canonical: a space after the semicolons.
        [
          (() => {
            const entries = docSign(base);
            return {
              ...entries,
              'signature-input': entries['signature-input'].replaceAll(';', '; '),
            };
          })(),
          'Malformed request signature headers',
        ],
      ];
      for (const [entries, expected] of cases) {
        expectRefusal(
          await rawCall(client, GREET, bytes, metadataOf(entries)),
          UNAUTHENTICATED,
          expected,
        );
      }
    });
  });
});

/**
 * Signature mode on a gRPC server started without `meshGrpcOptions()` (a plain package
 * definition): the message bytes are not kept.
 */
describe.each(stores)('signature mode without withMessageBytes, $name store', (factory) => {
  let grpcApp: GrpcApp;
  let client: Client;

  beforeAll(async () => {
    grpcApp = await startGrpcApp({
      store: await factory.create(),
      requestSigning: true,
      controllers: [GreeterController],
      keepMessageBytes: false,
    });
    client = rawGrpcClient(grpcApp.url, 'greeter.v1.Greeter');
  });

  afterAll(async () => {
    client?.close();
    await grpcApp?.close();
    await factory.teardown?.();
  });

  it('refuses a client-streaming call as unsignable, not as unverifiable, and logs nothing', async () => {
    const logger = grpcApp.logger as CapturingLogger;
    const logsBefore = logger.lines.length;
    const key = randomBytes(32);
    const session = await grpcApp.app.get(SessionManager).createSession('streamer', key);
    const metadata = signedCallMetadata({
      path: COLLECT,
      message: encode({ name: 'Ann' }),
      sessionId: session.id,
      sessionKey: key,
    });
    expectRefusal(
      await collect(client, metadata),
      UNAUTHENTICATED,
      'Client-streaming calls cannot be signed',
    );
    expect(logger.lines.slice(logsBefore)).toEqual([]);
  });

  it('refuses signed calls as unverifiable, and tells the operator once', async () => {
    const key = randomBytes(32);
    const session = await grpcApp.app.get(SessionManager).createSession('caller', key);
    const bytes = encode({ name: 'World' });
    for (let i = 0; i < 3; i++) {
      const metadata = signedCallMetadata({
        path: GREET,
        message: bytes,
        sessionId: session.id,
        sessionKey: key,
      });
      expectRefusal(
        await rawCall(client, GREET, bytes, metadata),
        UNAUTHENTICATED,
        'Request body cannot be verified',
      );
    }
    const lines = (grpcApp.logger as CapturingLogger).lines.filter((line) =>
      line.includes('meshGrpcOptions'),
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error /);
    for (const encoding of [key.toString('hex'), key.toString('base64')]) {
      expect(lines[0]).not.toContain(encoding);
    }
  });
});

describe.each(stores)(
  'signature mode, guard both global and on the handler, $name store',
  (factory) => {
    let grpcApp: GrpcApp;
    let client: Client;

    beforeAll(async () => {
      grpcApp = await startGrpcApp({
        store: await factory.create(),
        requestSigning: true,
        controllers: [GreeterController],
        providers: [{ provide: APP_GUARD, useClass: SessionGuard }],
      });
      client = rawGrpcClient(grpcApp.url, 'greeter.v1.Greeter');
    });

    afterAll(async () => {
      client?.close();
      await grpcApp?.close();
      await factory.teardown?.();
    });

    it('claims the nonce once: the second check of the same call passes', async () => {
      const key = randomBytes(32);
      const session = await grpcApp.app.get(SessionManager).createSession('twice', key);
      const bytes = encode({ name: 'World' });
      const metadata = signedCallMetadata({
        path: GREET,
        message: bytes,
        sessionId: session.id,
        sessionKey: key,
      });
      const outcome = await rawCall(client, GREET, bytes, metadata);
      expect(outcome.error).toBeUndefined();
      expect(outcome.reply).toEqual({ message: 'Hello, World from twice' });
      expectRefusal(
        await rawCall(client, GREET, bytes, metadata),
        UNAUTHENTICATED,
        'Request nonce already used',
      );
    });
  },
);
