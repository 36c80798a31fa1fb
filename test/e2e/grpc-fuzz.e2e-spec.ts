import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Controller, UseGuards } from '@nestjs/common';
import { GrpcMethod, Payload } from '@nestjs/microservices';
import { status, type Client, type Metadata } from '@grpc/grpc-js';
import fc from 'fast-check';
import {
  CurrentSession,
  SessionGuard,
  SessionManager,
  SkipSession,
  signGrpcCall,
  type Session,
} from '../../lib/index.js';
import { storeFactories } from '../support/store-factories.js';
import {
  encodeGreetRequest as encode,
  greeterService as greeter,
  metadataOf,
  rawGrpcClient,
  rawUnaryCall,
  startGrpcApp,
  type GreetRequest,
  type GrpcApp,
} from '../support/grpc/grpc-app.js';

/*
 * Property tests over real gRPC on loopback: random and mutated metadata (session id and
 * signature entries) and random messages (field values, raw bytes) thrown at SessionGuard. A
 * caller's input gets UNAUTHENTICATED or INVALID_ARGUMENT (OK only for an intact call), never
 * INTERNAL or UNKNOWN, and always an answer within the call's deadline.
 */

const RUNS = 200;
const DEADLINE_MS = 3_000;
const GREET = '/greeter.v1.Greeter/Greet';
const PUBLIC = '/greeter.v1.Greeter/Public';
const SIGNATURE_KEYS = ['signature-input', 'signature', 'content-digest'] as const;
type SignatureKey = (typeof SIGNATURE_KEYS)[number];

/** The message as the server decodes it, or `undefined` for bytes it cannot decode. */
function decode(bytes: Buffer): unknown {
  try {
    return greeter.Greet.requestDeserialize(bytes);
  } catch {
    return undefined;
  }
}

/** The last message a handler received. */
let lastReceived: unknown;

@Controller()
@UseGuards(SessionGuard)
class FuzzController {
  @GrpcMethod('Greeter', 'Greet')
  greet(@Payload() data: GreetRequest, @CurrentSession() session: Session): { message: string } {
    lastReceived = data;
    return { message: `Hello from ${session.serviceId}` };
  }

  @SkipSession()
  @GrpcMethod('Greeter', 'Public')
  public(@Payload() data: GreetRequest): { message: string } {
    lastReceived = data;
    return { message: 'Hello' };
  }
}

/** Every status the calls of the running test got, to check that a property reached each branch. */
const observed = new Set<status>();

/** The status a client sees (OK, or the error's code), recorded in {@link observed}. */
async function rawCall(
  client: Client,
  path: string,
  bytes: Buffer,
  metadata: Metadata,
): Promise<status> {
  const { error } = await rawUnaryCall(client, path, bytes, metadata, { deadlineMs: DEADLINE_MS });
  const code = error === undefined ? status.OK : error.code;
  observed.add(code);
  return code;
}

// What grpc-js accepts in an ASCII metadata value: visible ASCII and space.
const printable = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));

// Pieces of real signature metadata, so that random values also reach deep into the parser.
const fragment = fc.oneof(
  printable,
  fc.constantFrom(
    'mesh=',
    'sig1=',
    'sha-256=',
    'sha-512=',
    '(',
    ')',
    '"@path"',
    '"content-digest"',
    '"@method"',
    '"@target-uri"',
    ';created=',
    ';expires=',
    ';nonce=',
    ';keyid=',
    ';alg=',
    ';tag=',
    '"hmac-sha256"',
    'hmac-sha256',
    '"3b241101-e2bb-4255-8caf-4136c566a962"',
    ':',
    ':AAAA:',
    ':47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:',
    ', ',
    ' ',
    '"',
    '\\"',
    '?1',
    '1700000000',
    '-1',
    '99999999999999999999',
  ),
);

// Within grpc-js's default 8 KiB of metadata, even with every entry at its longest.
const metadataValue = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: printable, maxLength: 200 }) },
  {
    weight: 4,
    arbitrary: fc.array(fragment, { maxLength: 30 }).map((parts) => parts.join('')),
  },
  { weight: 1, arbitrary: fc.string({ unit: printable, minLength: 1_000, maxLength: 1_500 }) },
);

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), char: printable }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.string({ unit: printable, minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 12 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 20 }),
  }),
  fc.record({ kind: fc.constant('flipCase' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const) }),
  fc.record({ kind: fc.constant('random' as const), value: metadataValue }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(value: string, m: Mutation): string | undefined {
  const at = 'at' in m ? m.at % (value.length + 1) : 0;
  switch (m.kind) {
    case 'replace':
      return value.slice(0, at) + m.char + value.slice(at + 1);
    case 'insert':
      return value.slice(0, at) + m.text + value.slice(at);
    case 'delete':
      return value.slice(0, at) + value.slice(at + m.length);
    case 'truncate':
      return value.slice(0, at);
    case 'duplicate':
      return value.slice(0, at + m.length) + value.slice(at);
    case 'flipCase': {
      const c = value.charAt(at);
      const flipped = c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
      return value.slice(0, at) + flipped + value.slice(at + 1);
    }
    case 'drop':
      return undefined;
    case 'random':
      return m.value;
  }
}

// HTTP/2 does not carry a value's leading or trailing whitespace as sent.
const trimmed = (value: string | undefined) => value?.replace(/^[ \t]+|[ \t]+$/g, '');

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const greetRequest: fc.Arbitrary<GreetRequest> = fc.record(
  {
    name: fc.string({ unit: 'binary', maxLength: 40 }),
    tags: fc.array(fc.string({ maxLength: 10 }), { maxLength: 5 }),
    count: int32,
    blob: fc.uint8Array({ maxLength: 64 }),
  },
  { requiredKeys: [] },
);

/** Random bytes, and valid encodings with bytes flipped, inserted or cut. */
const messageBytes = fc.oneof(
  fc.uint8Array({ maxLength: 128 }).map((bytes) => Buffer.from(bytes)),
  fc
    .tuple(
      greetRequest,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()), {
        maxLength: 4,
      }),
      fc.option(fc.nat(), { nil: undefined }),
    )
    .map(([message, edits, cut]) => {
      const bytes = [...encode(message)];
      for (const [at, byte, insert] of edits) {
        const i = at % (bytes.length + 1);
        if (insert) bytes.splice(i, 0, byte);
        else if (i < bytes.length) bytes[i] = byte;
      }
      const out = Buffer.from(bytes);
      return cut === undefined ? out : out.subarray(0, cut % (out.length + 1));
    }),
);

const stores = storeFactories.filter(({ name }) => name === 'memory' || name === 'redis');

describe.each(stores)('SessionGuard on gRPC under fuzzing, $name store', (factory) => {
  let idApp: GrpcApp;
  let signedApp: GrpcApp;
  let idClient: Client;
  let signedClient: Client;
  let idSession: Session;
  let signer: { id: string; key: Buffer };

  beforeAll(async () => {
    idApp = await startGrpcApp({ store: await factory.create(), controllers: [FuzzController] });
    signedApp = await startGrpcApp({
      store: await factory.create(),
      requestSigning: true,
      controllers: [FuzzController],
    });
    idClient = rawGrpcClient(idApp.url, 'greeter.v1.Greeter');
    signedClient = rawGrpcClient(signedApp.url, 'greeter.v1.Greeter');
    idSession = await idApp.app.get(SessionManager).createSession('fuzzer', randomBytes(32));
    const key = randomBytes(32);
    const created = await signedApp.app.get(SessionManager).createSession('fuzzer', key);
    signer = { id: created.id, key };
  });

  afterAll(async () => {
    idClient?.close();
    signedClient?.close();
    await idApp?.close();
    await signedApp?.close();
    await factory.teardown?.();
  });

  beforeEach(() => {
    observed.clear();
  });

  function signedEntries(bytes: Buffer, path = GREET): Record<SignatureKey, string> {
    return signGrpcCall(
      { path, message: bytes, sessionId: signer.id, sessionKey: signer.key },
      { format: 'rfc9421' },
    );
  }

  describe('session-id mode', () => {
    it('answers a random or mutated x-mesh-session-id with UNAUTHENTICATED, the intact one with OK', async () => {
      const bytes = encode({ name: 'World' });
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            metadataValue.map((value) => ({ value })),
            mutation.map((m) => ({ value: mutate(idSession.id, m) })),
          ),
          async ({ value }) => {
            const code = await rawCall(
              idClient,
              GREET,
              bytes,
              metadataOf({ 'x-mesh-session-id': value }),
            );
            if (value === idSession.id) expect(code).toBe(status.OK);
            else if (trimmed(value) === idSession.id)
              expect([status.OK, status.UNAUTHENTICATED]).toContain(code);
            else expect(code).toBe(status.UNAUTHENTICATED);
          },
        ),
        { numRuns: RUNS },
      );
    });

    it('hands random field values to the handler exactly as decoded', async () => {
      const metadata = metadataOf({ 'x-mesh-session-id': idSession.id });
      await fc.assert(
        fc.asyncProperty(greetRequest, async (message) => {
          const bytes = encode(message);
          lastReceived = undefined;
          expect(await rawCall(idClient, GREET, bytes, metadata)).toBe(status.OK);
          expect(lastReceived).toEqual(decode(bytes));
        }),
        { numRuns: RUNS },
      );
      expect(observed).toEqual(new Set([status.OK]));
    });

    it('answers random message bytes with OK when they decode, INVALID_ARGUMENT otherwise', async () => {
      const metadata = metadataOf({ 'x-mesh-session-id': idSession.id });
      await fc.assert(
        fc.asyncProperty(messageBytes, fc.boolean(), async (bytes, skipped) => {
          const decoded = decode(bytes);
          lastReceived = undefined;
          const code = await rawCall(idClient, skipped ? PUBLIC : GREET, bytes, metadata);
          if (decoded === undefined) {
            expect(code).toBe(status.INVALID_ARGUMENT);
            expect(lastReceived).toBeUndefined();
          } else {
            expect(code).toBe(status.OK);
            expect(lastReceived).toEqual(decoded);
          }
        }),
        { numRuns: RUNS },
      );
      expect(observed).toEqual(new Set([status.OK, status.INVALID_ARGUMENT]));
    });

    it('answers random bytes without a session: INVALID_ARGUMENT or UNAUTHENTICATED', async () => {
      await fc.assert(
        fc.asyncProperty(
          messageBytes,
          fc.option(metadataValue, { nil: undefined }),
          async (bytes, id) => {
            const code = await rawCall(
              idClient,
              GREET,
              bytes,
              metadataOf({ 'x-mesh-session-id': id }),
            );
            expect(code).toBe(
              decode(bytes) === undefined ? status.INVALID_ARGUMENT : status.UNAUTHENTICATED,
            );
          },
        ),
        { numRuns: RUNS },
      );
      expect(observed).toEqual(new Set([status.INVALID_ARGUMENT, status.UNAUTHENTICATED]));
    });
  });

  describe('signature mode', () => {
    it('answers random signature metadata with UNAUTHENTICATED', async () => {
      const bytes = encode({ name: 'World' });
      await fc.assert(
        fc.asyncProperty(
          fc.option(metadataValue, { nil: undefined }),
          fc.option(metadataValue, { nil: undefined }),
          fc.option(metadataValue, { nil: undefined }),
          fc.option(metadataValue, { nil: undefined }),
          async (input, signature, digest, id) => {
            const metadata = metadataOf({
              'signature-input': input,
              signature,
              'content-digest': digest,
              'x-mesh-session-id': id,
            });
            expect(await rawCall(signedClient, GREET, bytes, metadata)).toBe(
              status.UNAUTHENTICATED,
            );
          },
        ),
        { numRuns: RUNS },
      );
      expect(observed).toEqual(new Set([status.UNAUTHENTICATED]));
    });

    it('answers mutated signature metadata with UNAUTHENTICATED, intact metadata with OK', async () => {
      const bytes = encode({ name: 'World', tags: ['x'] });
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.constantFrom(...SIGNATURE_KEYS), mutation), {
            minLength: 1,
            maxLength: 3,
          }),
          async (mutations) => {
            const original = signedEntries(bytes);
            const sent: Partial<Record<SignatureKey, string>> = { ...original };
            for (const [key, m] of mutations) {
              if (sent[key] !== undefined) sent[key] = mutate(sent[key] as string, m);
            }
            const code = await rawCall(signedClient, GREET, bytes, metadataOf(sent));
            if (SIGNATURE_KEYS.every((key) => sent[key] === original[key])) {
              expect(code).toBe(status.OK);
            } else if (SIGNATURE_KEYS.every((key) => trimmed(sent[key]) === original[key])) {
              expect([status.OK, status.UNAUTHENTICATED]).toContain(code);
            } else {
              expect(code).toBe(status.UNAUTHENTICATED);
            }
          },
        ),
        { numRuns: RUNS },
      );
    });

    it('answers a random x-mesh-signature entry, alone or beside the RFC 9421 entries, with UNAUTHENTICATED', async () => {
      const bytes = encode({ name: 'World' });
      await fc.assert(
        fc.asyncProperty(metadataValue, fc.boolean(), async (entry, beside) => {
          const metadata = metadataOf({
            'x-mesh-signature': entry,
            ...(beside ? signedEntries(bytes) : {}),
          });
          const code = await rawCall(signedClient, GREET, bytes, metadata);
          // HTTP/2 drops an entry with leading or trailing blanks: the RFC 9421 entries beside
          // it are then the whole signature.
          if (beside && trimmed(entry) !== entry) {
            expect([status.OK, status.UNAUTHENTICATED]).toContain(code);
          } else {
            expect(code).toBe(status.UNAUTHENTICATED);
          }
        }),
        { numRuns: RUNS },
      );
      expect(observed).toContain(status.UNAUTHENTICATED);
    });

    it('answers a mutated x-mesh-signature entry with UNAUTHENTICATED, the intact one with OK', async () => {
      const bytes = encode({ name: 'World', tags: ['x'] });
      await fc.assert(
        fc.asyncProperty(fc.array(mutation, { minLength: 0, maxLength: 3 }), async (mutations) => {
          const original = signGrpcCall({
            path: GREET,
            message: bytes,
            sessionId: signer.id,
            sessionKey: signer.key,
          })['x-mesh-signature'];
          let sent: string | undefined = original;
          for (const m of mutations) if (sent !== undefined) sent = mutate(sent, m);
          const code = await rawCall(
            signedClient,
            GREET,
            bytes,
            metadataOf({ 'x-mesh-signature': sent }),
          );
          if (sent === original) expect(code).toBe(status.OK);
          else if (trimmed(sent) === original)
            expect([status.OK, status.UNAUTHENTICATED]).toContain(code);
          else expect(code).toBe(status.UNAUTHENTICATED);
        }),
        { numRuns: RUNS },
      );
    });

    it('answers well-keyed signatures of random shape: OK when complete, never a server error', async () => {
      // Correct HMACs over random components, parameters and labels: the refusals come from
      // the checks behind the parser, never from a wrong key. NOW, NONCE and KEYID stand for
      // the values of each run.
      const component = fc.constantFrom('@path', 'content-digest', '@method', '@target-uri', 'x');
      const sfString = fc
        .string({ unit: printable, maxLength: 40 })
        .map((value) => `"${value.replace(/[\\"]/g, '\\$&')}"`);
      const valid: [string, string][] = [
        ['created', 'NOW'],
        ['nonce', '"NONCE"'],
        ['keyid', '"KEYID"'],
        ['alg', '"hmac-sha256"'],
      ];
      const parameter = fc.oneof(
        fc.constantFrom(...valid),
        fc.tuple(
          fc.constantFrom('created', 'expires'),
          fc.integer({ min: -1, max: 4_000_000_000 }).map(String),
        ),
        fc.tuple(fc.constantFrom('nonce', 'keyid', 'alg', 'tag', 'other'), sfString),
        fc.constant(['alg', 'hmac-sha256'] as [string, string]),
        fc.constant(['expires', 'LATER'] as [string, string]),
      );
      const shape: fc.Arbitrary<{
        components: string[];
        parameters: [string, string][];
        exact: boolean;
      }> = fc.oneof(
        // Every parameter, in any order, over the two components: the call must pass.
        fc.record({
          components: fc.constantFrom<string[]>(
            ['@path', 'content-digest'],
            ['content-digest', '@path'],
          ),
          parameters: fc.shuffledSubarray(valid, { minLength: valid.length }),
          exact: fc.constant(true),
        }),
        fc.record({
          components: fc.oneof(
            fc.constant<string[]>(['@path', 'content-digest']),
            fc.array(component, { maxLength: 4 }),
          ),
          parameters: fc
            .tuple(fc.subarray(valid), fc.array(parameter, { maxLength: 3 }))
            .map(([kept, extra]) => [...kept, ...extra]),
          exact: fc.constant(false),
        }),
        fc.record({
          components: fc.array(component, { maxLength: 4 }),
          parameters: fc.array(parameter, { maxLength: 7 }),
          exact: fc.constant(false),
        }),
      );
      await fc.assert(
        fc.asyncProperty(
          shape,
          fc.constantFrom('mesh', 'sig1', 'a', '*x'),
          fc.oneof({ weight: 3, arbitrary: greetRequest.map(encode) }, messageBytes),
          async ({ components, parameters, exact }, label, bytes) => {
            const now = Math.floor(Date.now() / 1000);
            const runValues: Record<string, string> = {
              NOW: String(now),
              LATER: String(now + 60),
              '"NONCE"': `"${randomBytes(32).toString('base64url')}"`,
              '"KEYID"': `"${signer.id}"`,
            };
            const digest = `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`;
            const params =
              `(${components.map((name) => `"${name}"`).join(' ')})` +
              parameters.map(([name, value]) => `;${name}=${runValues[value] ?? value}`).join('');
            const values: Record<string, string> = { '@path': GREET, 'content-digest': digest };
            const base = [
              ...components.map((name) => `"${name}": ${values[name] ?? 'x'}`),
              `"@signature-params": ${params}`,
            ].join('\n');
            const mac = createHmac('sha256', signer.key).update(base).digest('base64');
            const code = await rawCall(
              signedClient,
              GREET,
              bytes,
              metadataOf({
                'signature-input': `${label}=${params}`,
                signature: `${label}=:${mac}:`,
                'content-digest': digest,
              }),
            );
            if (decode(bytes) === undefined) expect(code).toBe(status.INVALID_ARGUMENT);
            else if (exact) expect(code).toBe(status.OK);
            else expect([status.OK, status.UNAUTHENTICATED]).toContain(code);
          },
        ),
        { numRuns: RUNS },
      );
      expect(observed).toEqual(
        new Set([status.OK, status.UNAUTHENTICATED, status.INVALID_ARGUMENT]),
      );
    });

    it('answers correctly signed random messages: OK when they decode, INVALID_ARGUMENT otherwise', async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(messageBytes, greetRequest.map(encode)), async (bytes) => {
          const decoded = decode(bytes);
          lastReceived = undefined;
          const code = await rawCall(signedClient, GREET, bytes, metadataOf(signedEntries(bytes)));
          if (decoded === undefined) {
            expect(code).toBe(status.INVALID_ARGUMENT);
          } else {
            expect(code).toBe(status.OK);
            expect(lastReceived).toEqual(decoded);
          }
        }),
        { numRuns: RUNS },
      );
      expect(observed).toEqual(new Set([status.OK, status.INVALID_ARGUMENT]));
    });

    it('answers a message changed after signing with UNAUTHENTICATED or INVALID_ARGUMENT', async () => {
      await fc.assert(
        fc.asyncProperty(greetRequest, messageBytes, async (message, other) => {
          const signedBytes = encode(message);
          fc.pre(!other.equals(signedBytes));
          const code = await rawCall(
            signedClient,
            GREET,
            other,
            metadataOf(signedEntries(signedBytes)),
          );
          expect(code).toBe(
            decode(other) === undefined ? status.INVALID_ARGUMENT : status.UNAUTHENTICATED,
          );
        }),
        { numRuns: RUNS },
      );
      expect(observed).toEqual(new Set([status.UNAUTHENTICATED, status.INVALID_ARGUMENT]));
    });
  });
});
