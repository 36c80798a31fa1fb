import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { jest } from '@jest/globals';
import { ForbiddenException, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/internal';
import { NatsContext, RpcException, TcpContext } from '@nestjs/microservices';
import { Metadata } from '@grpc/grpc-js';
import { loadSync, type ServiceDefinition } from '@grpc/proto-loader';
import {
  GRPC_SIGNING_PROFILE,
  HTTP_SIGNING_PROFILE,
  MemorySessionStore,
  RequestVerifier,
  SessionManager,
  SessionMessages,
  SignatureVerificationError,
  SigningMessages,
  createContentDigest,
  signGrpcCall,
  signRequest,
  type SignedRequestParts,
} from '../../lib/index.js';
import {
  describeContext,
  metadataHeaders,
  readGrpcCall,
  type GrpcMetadataLike,
} from '../../lib/guard/grpc-call.js';
import { CallTrailers, grpcRefusal } from '../../lib/guard/grpc-refusal.js';
import { GRPC_STATUS } from '../../lib/protocol/grpc/grpc-status.js';
import { sessionOfCall, setSessionOfCall } from '../../lib/guard/call-sessions.js';
import {
  MESH_HANDSHAKE_LOADER_OPTIONS,
  MESH_HANDSHAKE_PACKAGE,
  MESH_HANDSHAKE_PATHS,
  MESH_HANDSHAKE_PROTO_PATH,
  MESH_HANDSHAKE_SERVICE,
} from '../../lib/protocol/grpc/handshake-proto.js';
import {
  isUndecodableMessage,
  messageBytesOf,
  rememberMessageBytes,
  undecodableMessage,
} from '../../lib/protocol/grpc/message-bytes.js';
import {
  withMessageBytes,
  type MethodDefinitionLike,
} from '../../lib/protocol/grpc/package-definition.js';
import { parseSignatureHeaders } from '../../lib/protocol/signing/signature-headers.js';

const GREETER_PROTO_PATH = new URL('../support/grpc/greeter.proto', import.meta.url).pathname;
const GREET = '/greeter.v1.Greeter/Greet';

/** A grpc-js server call, as far as the guard looks at it. */
function serverCall(path: unknown = GREET): { getPath(): unknown; getPeer(): string } {
  return { getPath: () => path, getPeer: () => 'ipv4:127.0.0.1:5000' };
}

function rpcContext(args: unknown[], type = 'rpc'): ExecutionContext {
  const host = new ExecutionContextHost(args);
  host.setType(type);
  return host;
}

describe('readGrpcCall', () => {
  it('reads the message, metadata, server call and method path of a gRPC handler', () => {
    const message = { name: 'World' };
    const metadata = new Metadata();
    const call = serverCall();
    expect(readGrpcCall(rpcContext([message, metadata, call]))).toEqual({
      message,
      metadata,
      call,
      path: GREET,
    });
    const read = readGrpcCall(rpcContext([message, metadata, call]));
    expect(read?.message).toBe(message);
    expect(read?.metadata).toBe(metadata);
    expect(read?.call).toBe(call);
  });

  it.each([
    ['a TCP context', [{}, new TcpContext([{} as never, 'greet'])]],
    ['a NATS context', [{}, new NatsContext(['greet', {}])]],
    ['no arguments', []],
    [
      'a plain object for the metadata',
      [{}, { get: () => [], set: () => undefined }, serverCall()],
    ],
    [
      'data imitating metadata',
      [{}, { get: 'x', set: 'x', getMap: 'x', toHttp2Headers: 'x' }, serverCall()],
    ],
    ['no server call', [{}, new Metadata()]],
    ['a server call without getPeer', [{}, new Metadata(), { getPath: () => GREET }]],
    ['a path that is not a string', [{}, new Metadata(), serverCall(42)]],
    ['null arguments', [null, null, null]],
  ])('is undefined for %s', (_case, args) => {
    expect(readGrpcCall(rpcContext(args as unknown[]))).toBeUndefined();
  });
});

describe('metadataHeaders', () => {
  it('gives each key read once as its string, and leaves absent keys out', () => {
    const metadata = new Metadata();
    metadata.set('x-mesh-session-id', 'abc');
    metadata.set('other', 'ignored');
    expect(metadataHeaders(metadata, ['x-mesh-session-id', 'signature'])).toEqual({
      'x-mesh-session-id': 'abc',
    });
  });

  it('keeps a key sent several times as an array, which no check accepts as one value', () => {
    const metadata = new Metadata();
    metadata.add('signature', 'a');
    metadata.add('signature', 'b');
    expect(metadataHeaders(metadata, ['signature'])).toEqual({ signature: ['a', 'b'] });
  });

  it('reads a binary value as absent', () => {
    const binary: GrpcMetadataLike = {
      get: (key) => (key === 'one' ? [Buffer.from('x')] : [Buffer.from('y'), 'z']),
      set: () => undefined,
    };
    const read = metadataHeaders(binary, ['one', 'two']);
    expect(read.one).toBeUndefined();
    expect(read.two).toEqual(['z']);
  });
});

describe('describeContext', () => {
  const tcp = new TcpContext([{} as never, 'greet']);
  it.each([
    { what: 'an HTTP context', type: 'http', args: [{}, {}], expected: 'http' },
    { what: 'a WebSocket context', type: 'ws', args: [{}, {}], expected: 'ws' },
    { what: 'a GraphQL context', type: 'graphql', args: [{}, {}, {}, {}], expected: 'graphql' },
    { what: 'a TCP handler', type: 'rpc', args: [{}, tcp], expected: 'rpc (TcpContext)' },
    {
      what: 'a NATS handler',
      type: 'rpc',
      args: [{}, new NatsContext(['greet', {}])],
      expected: 'rpc (NatsContext)',
    },
    { what: 'a plain context object', type: 'rpc', args: [{}, { plain: true }], expected: 'rpc' },
    { what: 'no context argument', type: 'rpc', args: [{}], expected: 'rpc' },
    { what: 'a string context argument', type: 'rpc', args: [{}, 'text'], expected: 'rpc' },
    // A custom transport's context argument may have no prototype, or a `constructor` of its
    // own (parsed JSON): the error must still name the context, not fail with a TypeError.
    {
      what: 'a prototype-less context object',
      type: 'rpc',
      args: [{}, Object.create(null)],
      expected: 'rpc',
    },
    {
      what: 'a context object with "constructor": null',
      type: 'rpc',
      args: [{}, JSON.parse('{"constructor":null}')],
      expected: 'rpc',
    },
    // The name comes from the prototype: a payload's own "constructor" field names nothing.
    {
      what: 'a plain object claiming a constructor name',
      type: 'rpc',
      args: [{}, JSON.parse('{"constructor":{"name":"TcpContext"}}')],
      expected: 'rpc',
    },
    {
      what: 'a NATS context whose own "constructor" field claims another name',
      type: 'rpc',
      args: [{}, Object.assign(new NatsContext(['greet', {}]), { constructor: { name: 'Spoof' } })],
      expected: 'rpc (NatsContext)',
    },
    {
      what: "an object made from TcpContext's prototype",
      type: 'rpc',
      args: [{}, Object.create(TcpContext.prototype)],
      expected: 'rpc (TcpContext)',
    },
    {
      what: 'an instance of a subclass',
      type: 'rpc',
      args: [{}, new (class KafkaLikeContext extends NatsContext {})(['greet', {}])],
      expected: 'rpc (KafkaLikeContext)',
    },
    {
      what: 'an instance of an anonymous class',
      type: 'rpc',
      args: [{}, new (class {})()],
      expected: 'rpc',
    },
    {
      what: 'an instance of a class named with a line break',
      type: 'rpc',
      args: [{}, new (Object.defineProperty(class {}, 'name', { value: 'Tcp\nContext' }))()],
      expected: 'rpc',
    },
    {
      what: 'an instance of a class with a 65-character name',
      type: 'rpc',
      args: [{}, new (Object.defineProperty(class {}, 'name', { value: 'C'.repeat(65) }))()],
      expected: 'rpc',
    },
    {
      what: 'an object whose prototype has no constructor of its own',
      type: 'rpc',
      args: [{}, Object.create(Object.create(null))],
      expected: 'rpc',
    },
  ])('names $what "$expected"', ({ type, args, expected }) => {
    expect(describeContext(rpcContext(args, type))).toBe(expected);
  });

  it('never runs a getter of the context object or of its prototype', () => {
    const read = jest.fn(() => 'Spoof');
    const prototype = Object.create(null, { constructor: { get: read } });
    const transport = Object.create(prototype, { constructor: { get: read } });
    expect(describeContext(rpcContext([{}, transport]))).toBe('rpc');
    expect(read).not.toHaveBeenCalled();
  });
});

describe('grpcRefusal', () => {
  it('maps the HTTP refusals to gRPC statuses, with the same message and the trailers', async () => {
    const trailers = new CallTrailers();
    trailers.header('Retry-After', '1');
    trailers.header('RateLimit-Limit', '3');
    const error = await grpcRefusal(
      new UnauthorizedException('Missing session id'),
      trailers,
      new Metadata(),
    );
    expect(error).toBeInstanceOf(RpcException);
    const { code, message, metadata } = (error as RpcException).getError() as {
      code: number;
      message: string;
      metadata: Metadata;
    };
    expect({ code, message }).toEqual({
      code: GRPC_STATUS.UNAUTHENTICATED,
      message: 'Missing session id',
    });
    expect(metadata).toBeInstanceOf(Metadata);
    expect(metadata.getMap()).toEqual({ 'retry-after': '1', 'ratelimit-limit': '3' });
  });

  it('leaves a status it does not map as the HTTP exception', async () => {
    const forbidden = new ForbiddenException('no');
    await expect(grpcRefusal(forbidden, new CallTrailers(), new Metadata())).resolves.toBe(
      forbidden,
    );
  });
});

describe('the session of a call', () => {
  it('is kept by server call, never on the message, and is absent for other values', () => {
    const call = serverCall();
    const session = { id: 'x' } as never;
    expect(sessionOfCall(call)).toBeUndefined();
    setSessionOfCall(call, session);
    expect(sessionOfCall(call)).toBe(session);
    expect(sessionOfCall(serverCall())).toBeUndefined();
    expect(sessionOfCall(undefined)).toBeUndefined();
    expect(sessionOfCall('call')).toBeUndefined();
    // One symbol-keyed property: no string key a handler or a serialiser would see.
    expect(Object.keys(call)).toEqual(['getPath', 'getPeer']);
    expect(Object.getOwnPropertySymbols(call)).toHaveLength(1);
  });
});

describe('the handshake proto', () => {
  it('ships the proto, and its constants name what it defines', () => {
    expect(existsSync(MESH_HANDSHAKE_PROTO_PATH)).toBe(true);
    const definition = loadSync(MESH_HANDSHAKE_PROTO_PATH, { ...MESH_HANDSHAKE_LOADER_OPTIONS });
    const service = definition[
      `${MESH_HANDSHAKE_PACKAGE}.${MESH_HANDSHAKE_SERVICE}`
    ] as ServiceDefinition;
    expect(service.Open.path).toBe(MESH_HANDSHAKE_PATHS.open);
    expect(service.Close.path).toBe(MESH_HANDSHAKE_PATHS.close);
    expect(MESH_HANDSHAKE_PATHS).toEqual({
      open: '/mesh_session.v1.MeshHandshake/Open',
      close: '/mesh_session.v1.MeshHandshake/Close',
    });
    expect(Object.isFrozen(MESH_HANDSHAKE_PATHS)).toBe(true);
    expect(Object.isFrozen(MESH_HANDSHAKE_LOADER_OPTIONS)).toBe(true);
    expect(MESH_HANDSHAKE_LOADER_OPTIONS).toMatchObject({ keepCase: false, defaults: false });
  });
});

describe('message bytes', () => {
  it('remembers the bytes of a decoded message, by the message object', () => {
    const message = { name: 'World' };
    const bytes = Buffer.from('0a05576f726c64', 'hex');
    expect(messageBytesOf(message)).toBeUndefined();
    rememberMessageBytes(message, bytes);
    expect(messageBytesOf(message)).toBe(bytes);
    expect(messageBytesOf({ name: 'World' })).toBeUndefined();
    expect(Reflect.ownKeys(message)).toEqual(['name']);
  });

  it('ignores values that cannot carry bytes', () => {
    for (const value of [undefined, null, 'text', 42, true]) {
      expect(() => rememberMessageBytes(value, Buffer.alloc(1))).not.toThrow();
      expect(messageBytesOf(value)).toBeUndefined();
      expect(isUndecodableMessage(value)).toBe(false);
    }
  });

  it('marks only its own stand-ins as undecodable: empty, frozen, each distinct', () => {
    const a = undecodableMessage();
    const b = undecodableMessage();
    expect(a).not.toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Reflect.ownKeys(a)).toEqual([]);
    expect(isUndecodableMessage(a)).toBe(true);
    expect(isUndecodableMessage(b)).toBe(true);
    expect(isUndecodableMessage({})).toBe(false);
    expect(isUndecodableMessage(Object.freeze({}))).toBe(false);
  });
});

describe('withMessageBytes', () => {
  const original = loadSync(GREETER_PROTO_PATH);
  const greeter = original['greeter.v1.Greeter'] as ServiceDefinition;
  const greetDecode = greeter.Greet.requestDeserialize;
  const wrapped = withMessageBytes(original);
  const service = wrapped['greeter.v1.Greeter'] as unknown as Record<string, MethodDefinitionLike>;

  it('leaves the given definition unchanged and copies every entry', () => {
    expect(wrapped).not.toBe(original);
    expect(Object.keys(wrapped)).toEqual(Object.keys(original));
    expect(greeter.Greet.requestDeserialize).toBe(greetDecode);
    // Messages and other non-service entries are the same objects.
    expect(wrapped['greeter.v1.GreetRequest']).toBe(original['greeter.v1.GreetRequest']);
  });

  it('keeps every method property but the request deserialiser', () => {
    for (const name of ['Greet', 'Whoami', 'Public', 'Collect']) {
      const { requestDeserialize, ...rest } = service[name];
      const { requestDeserialize: before, ...expected } = greeter[name];
      expect(requestDeserialize).not.toBe(before);
      expect(rest).toEqual(expected);
    }
  });

  it('decodes as before and remembers the exact bytes', () => {
    const bytes = greeter.Greet.requestSerialize({ name: 'World', tags: ['a'], count: 2 });
    const message = service.Greet.requestDeserialize(bytes);
    expect(message).toEqual(greetDecode(bytes));
    expect(messageBytesOf(message)).toBe(bytes);
    expect(isUndecodableMessage(message)).toBe(false);
    // Unknown fields are skipped by the decoder but kept in the bytes.
    const withUnknown = Buffer.concat([bytes, Buffer.from([0x78, 0x01])]);
    const same = service.Greet.requestDeserialize(withUnknown);
    expect(same).toEqual(message);
    expect(messageBytesOf(same)).toBe(withUnknown);
  });

  it('gives an empty message its zero bytes', () => {
    const empty = Buffer.alloc(0);
    const message = service.Whoami.requestDeserialize(empty);
    expect(message).toEqual({});
    expect(messageBytesOf(message)).toBe(empty);
  });

  it('turns bytes that cannot be decoded into the marked stand-in instead of throwing', () => {
    expect(() => greetDecode(Buffer.from([0xff, 0xff, 0xff]))).toThrow();
    const standIn = service.Greet.requestDeserialize(Buffer.from([0xff, 0xff, 0xff]));
    expect(isUndecodableMessage(standIn)).toBe(true);
    expect(messageBytesOf(standIn)).toBeUndefined();
  });

  it('wraps the handshake service too, and passes an empty definition through', () => {
    const handshake = withMessageBytes(
      loadSync(MESH_HANDSHAKE_PROTO_PATH, { ...MESH_HANDSHAKE_LOADER_OPTIONS }),
    );
    const open = (
      handshake[`${MESH_HANDSHAKE_PACKAGE}.${MESH_HANDSHAKE_SERVICE}`] as unknown as Record<
        string,
        MethodDefinitionLike
      >
    ).Open;
    expect(isUndecodableMessage(open.requestDeserialize(Buffer.from([0xff])))).toBe(true);
    expect(withMessageBytes({})).toEqual({});
  });
});

describe('signGrpcCall', () => {
  const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  const sessionId = '3b241101-e2bb-4255-8caf-4136c566a962';
  const message = Buffer.from('0a05576f726c64', 'hex');

  afterEach(() => {
    jest.useRealTimers();
  });

  it('gives the metadata of the worked example in docs/grpc.md', () => {
    expect(
      signGrpcCall(
        {
          path: GREET,
          message,
          sessionId,
          sessionKey: key,
          created: 1767225600,
          nonce: 'n8Xk2QeZ7rVb1sLmPq4TcA',
        },
        { format: 'rfc9421' },
      ),
    ).toEqual({
      'signature-input':
        'mesh=("@path" "content-digest");created=1767225600;nonce="n8Xk2QeZ7rVb1sLmPq4TcA";keyid="3b241101-e2bb-4255-8caf-4136c566a962";alg="hmac-sha256"',
      signature: 'mesh=:M5xHy5eFcMdhCNSDL2M82OXtnjdVOuolnP0qr3IX3Uo=:',
      'content-digest': 'sha-256=:SIVVIOnOr6ctqdiHmfUqUD/yqfVXvpHLjTxPSuLsqs0=:',
    });
  });

  it('signs what the specification says, recomputed here with node:crypto', () => {
    const bytes = randomBytes(100);
    const sessionKey = randomBytes(32);
    const entries = signGrpcCall(
      {
        path: '/a.b.C/D',
        message: new Uint8Array(bytes),
        sessionId,
        sessionKey,
        created: 1,
        nonce: 'x'.repeat(20),
      },
      { format: 'rfc9421' },
    );
    const digest = `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`;
    expect(entries['content-digest']).toBe(digest);
    expect(entries['content-digest']).toBe(createContentDigest(bytes));
    const params = `("@path" "content-digest");created=1;nonce="${'x'.repeat(20)}";keyid="${sessionId}";alg="hmac-sha256"`;
    expect(entries['signature-input']).toBe(`mesh=${params}`);
    const base = `"@path": /a.b.C/D\n"content-digest": ${digest}\n"@signature-params": ${params}`;
    const mac = createHmac('sha256', sessionKey).update(base).digest('base64');
    expect(entries.signature).toBe(`mesh=:${mac}:`);
  });

  it('digests an empty message as zero bytes', () => {
    const entries = signGrpcCall(
      {
        path: GREET,
        message: new Uint8Array(0),
        sessionId,
        sessionKey: key,
      },
      { format: 'rfc9421' },
    );
    expect(entries['content-digest']).toBe(
      'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:',
    );
  });

  it('defaults created to now and the nonce to 32 random bytes, fresh each call', () => {
    jest.useFakeTimers({ now: Date.UTC(2026, 0, 1, 0, 0, 0, 900) });
    const nonces = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const input = signGrpcCall(
        { path: GREET, message, sessionId, sessionKey: key },
        { format: 'rfc9421' },
      )['signature-input'];
      expect(input).toContain(`;created=${Date.UTC(2026, 0, 1) / 1000};`);
      const nonce = /;nonce="([^"]*)"/.exec(input)?.[1] ?? '';
      expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
      nonces.add(nonce);
    }
    expect(nonces.size).toBe(5);
  });

  it('does not keep or change the key', () => {
    const sessionKey = randomBytes(32);
    const before = Buffer.from(sessionKey);
    const entries = signGrpcCall(
      { path: GREET, message, sessionId, sessionKey },
      { format: 'rfc9421' },
    );
    expect(sessionKey).toEqual(before);
    for (const value of Object.values(entries)) {
      expect(value).not.toContain(sessionKey.toString('base64'));
      expect(value).not.toContain(sessionKey.toString('hex'));
    }
  });

  it.each([
    ['no leading slash', 'greeter.v1.Greeter/Greet'],
    ['no method', '/greeter.v1.Greeter/'],
    ['no service', '//Greet'],
    ['three segments', '/greeter.v1/Greeter/Greet'],
    ['a line break', '/greeter.v1.Greeter/Greet\n'],
    ['a space', '/greeter.v1.Greeter/Gr eet'],
    ['a URL', 'http://host/greeter.v1.Greeter/Greet'],
    ['an empty string', ''],
    ['a non-string', 42],
  ])('throws a TypeError naming the path for %s', (_case, path) => {
    expect(() =>
      signGrpcCall(
        { path: path as string, message, sessionId, sessionKey: key },
        { format: 'rfc9421' },
      ),
    ).toThrow(new TypeError(SigningMessages.callUnsignable(String(path))));
  });

  it('escapes a quote in the keyid, and throws rather than sign a non-ASCII one', () => {
    const input = signGrpcCall(
      { path: GREET, message, sessionId: 'a"b', sessionKey: key },
      { format: 'rfc9421' },
    )['signature-input'];
    expect(input).toContain(';keyid="a\\"b";');
    for (const sessionId of ['a\nb', 'é']) {
      expect(() =>
        signGrpcCall({ path: GREET, message, sessionId, sessionKey: key }, { format: 'rfc9421' }),
      ).toThrow(
        new TypeError(SessionMessages.invalidArgument('sessionId', 'a session id', sessionId)),
      );
    }
  });
});

describe('a signed call through RequestVerifier', () => {
  const store = new MemorySessionStore();
  const manager = new SessionManager(store);
  const verifier = new RequestVerifier(manager, { warn: () => undefined });
  const message = Buffer.from('0a05576f726c64', 'hex');

  async function session(): Promise<{ id: string; key: Buffer }> {
    const key = randomBytes(32);
    return { id: (await manager.createSession('caller', key)).id, key };
  }

  function parts(
    headers: Record<string, string | string[]>,
    overrides: Partial<SignedRequestParts> = {},
  ): SignedRequestParts {
    return {
      method: 'POST',
      targetUri: undefined,
      path: GREET,
      headers,
      rawBody: message,
      hasBody: true,
      profile: GRPC_SIGNING_PROFILE,
      ...overrides,
    };
  }

  const reason = async (pending: Promise<unknown>) => {
    try {
      await pending;
    } catch (error) {
      return error instanceof SignatureVerificationError ? error.reason : error;
    }
    return 'accepted';
  };

  it('verifies with the gRPC profile, once', async () => {
    const { id, key } = await session();
    const headers = signGrpcCall(
      { path: GREET, message, sessionId: id, sessionKey: key },
      { format: 'rfc9421' },
    );
    await expect(verifier.verify(parts({ ...headers }))).resolves.toMatchObject({ id });
    expect(await reason(verifier.verify(parts({ ...headers })))).toBe('signature_replayed');
  });

  it('refuses it for another path, other bytes or no bytes', async () => {
    const { id, key } = await session();
    const sign = () => ({
      ...signGrpcCall(
        { path: GREET, message, sessionId: id, sessionKey: key },
        { format: 'rfc9421' },
      ),
    });
    expect(
      await reason(verifier.verify(parts(sign(), { path: '/greeter.v1.Greeter/Whoami' }))),
    ).toBe('signature_invalid');
    expect(await reason(verifier.verify(parts(sign(), { rawBody: Buffer.from('x') })))).toBe(
      'digest_mismatch',
    );
    expect(await reason(verifier.verify(parts(sign(), { rawBody: undefined })))).toBe(
      'body_unverifiable',
    );
  });

  it('refuses a call signature under the HTTP profile, and an HTTP signature under the gRPC one', async () => {
    const { id, key } = await session();
    const call = {
      ...signGrpcCall(
        { path: GREET, message, sessionId: id, sessionKey: key },
        { format: 'rfc9421' },
      ),
    };
    expect(
      await reason(
        verifier.verify(
          parts(call, { profile: HTTP_SIGNING_PROFILE, targetUri: `http://h${GREET}` }),
        ),
      ),
    ).toBe('signature_malformed');
    const http = {
      ...signRequest({
        method: 'POST',
        url: `http://h${GREET}`,
        body: message,
        sessionId: id,
        sessionKey: key,
      }),
    };
    expect(await reason(verifier.verify(parts(http as Record<string, string>)))).toBe(
      'signature_malformed',
    );
  });
});

describe('signing profiles', () => {
  it('are frozen and list what each transport requires and knows', () => {
    for (const profile of [GRPC_SIGNING_PROFILE, HTTP_SIGNING_PROFILE]) {
      expect(Object.isFrozen(profile)).toBe(true);
      expect(Object.isFrozen(profile.required)).toBe(true);
      expect(Object.isFrozen(profile.known)).toBe(true);
      expect(profile.required.every((name) => profile.known.includes(name))).toBe(true);
    }
    expect(GRPC_SIGNING_PROFILE).toMatchObject({
      transport: 'grpc',
      required: ['@path', 'content-digest'],
      known: ['@path', 'content-digest'],
    });
    expect(HTTP_SIGNING_PROFILE).toMatchObject({
      transport: 'http',
      required: ['@method', '@target-uri'],
      known: ['@method', '@target-uri', 'content-digest'],
    });
  });

  it('name their own messages', () => {
    expect(GRPC_SIGNING_PROFILE.incomplete()).toBe(SigningMessages.callSignatureIncomplete());
    expect(GRPC_SIGNING_PROFILE.incomplete()).toContain('"@path" and "content-digest"');
    expect(GRPC_SIGNING_PROFILE.bytesMissing()).toContain('meshGrpcOptions()');
    expect(HTTP_SIGNING_PROFILE.incomplete()).toBe(SigningMessages.signatureIncomplete());
    expect(HTTP_SIGNING_PROFILE.bytesMissing()).toBe(SigningMessages.rawBodyMissing());
  });

  it('decide what parseSignatureHeaders accepts as complete', () => {
    const key = randomBytes(32);
    const sign = (components: string[]) => {
      const params = `(${components.map((c) => `"${c}"`).join(' ')});created=1;nonce="${'n'.repeat(16)}";keyid="k";alg="hmac-sha256"`;
      return { 'signature-input': `mesh=${params}`, signature: `mesh=:${key.toString('base64')}:` };
    };
    const parse = (components: string[], profile = GRPC_SIGNING_PROFILE) => {
      try {
        return parseSignatureHeaders(sign(components), profile).components;
      } catch (error) {
        return (error as SignatureVerificationError).reason;
      }
    };
    expect(parse(['@path', 'content-digest'])).toEqual(['@path', 'content-digest']);
    expect(parse(['content-digest', '@path'])).toEqual(['content-digest', '@path']);
    expect(parse(['@path'])).toBe('signature_incomplete');
    expect(parse(['content-digest'])).toBe('signature_incomplete');
    expect(parse(['@path', 'content-digest', '@method'])).toBe('signature_malformed');
    expect(parse(['@path', '@path', 'content-digest'])).toBe('signature_malformed');
    expect(parse(['@method', '@target-uri'], HTTP_SIGNING_PROFILE)).toEqual([
      '@method',
      '@target-uri',
    ]);
    expect(parse(['@path', 'content-digest'], HTTP_SIGNING_PROFILE)).toBe('signature_malformed');
  });
});
