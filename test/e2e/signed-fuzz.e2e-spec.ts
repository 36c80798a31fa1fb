import { randomBytes } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import fc from 'fast-check';
import {
  serializeDictionary,
  Token,
  type BareItem,
  type InnerList,
  type Item,
} from 'structured-headers';
import request from 'supertest';
import {
  MeshSessionModule,
  SessionGuard,
  SessionManager,
  signRequest,
  type SignedRequestHeaders,
} from '../../lib/index.js';
import { listen, platforms, type RunningApp } from './handshake-fixtures.js';

/*
 * Property tests: random and mutated Signature, Signature-Input and Content-Digest headers
 * (and bodies) thrown at the guard of a real app over real HTTP. Every answer must be a 400 or
 * a 401 (a 200 only for a request left intact), never a 500, and always within the deadline.
 */

const RUNS = 300;
const DEADLINE = { response: 5_000, deadline: 10_000 };
const HEADERS = ['signature-input', 'signature', 'content-digest'] as const;

@Controller()
@UseGuards(SessionGuard)
class FuzzController {
  @Get('read')
  read(): { ok: true } {
    return { ok: true };
  }

  @Post('write')
  @HttpCode(200)
  write(@Body() body: unknown): unknown {
    return body;
  }
}

// Characters Node's HTTP client accepts in a header value: tab, visible ASCII, space, obs-text.
const headerChar = fc
  .oneof(
    { weight: 20, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 1, arbitrary: fc.constant(0x09) },
    { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
  )
  .map((code) => String.fromCharCode(code));

// Pieces of real signature headers, so that random values also reach deep into the parser.
const fragment = fc.oneof(
  headerChar,
  fc.constantFrom(
    'sig1=',
    'mesh=',
    'sha-256=',
    'sha-512=',
    '(',
    ')',
    '"@method"',
    '"@target-uri"',
    '"content-digest"',
    '"@authority"',
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
    '::',
    ':AAAA:',
    ':X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
    ', ',
    ',',
    ' ',
    '"',
    '\\"',
    '?1',
    '?0',
    '*',
    '%"a"',
    '@1659578233',
    '1700000000',
    '-1',
    '1.5',
    '99999999999999999999',
  ),
);
// Well-formed Structured Fields dictionaries of every shape, so that values also pass the
// parser and reach the checks behind it.
const sfKey = fc.oneof(
  fc.constantFrom('sig1', 'mesh', 'sha-256', 'sha-512', 'created', 'nonce', 'keyid', 'alg', 'tag'),
  fc.stringMatching(/^[a-z*][a-z0-9_.*-]{0,6}$/),
);
const sfString = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  maxLength: 40,
});
const sfBareItem: fc.Arbitrary<BareItem> = fc.oneof(
  fc.integer({ min: -1, max: 2_000_000_000 }),
  fc.integer({
    min: Math.floor(Date.now() / 1000) - 100,
    max: Math.floor(Date.now() / 1000) + 100,
  }),
  sfString,
  fc.constantFrom('hmac-sha256', '3b241101-e2bb-4255-8caf-4136c566a962', '@method', '@target-uri'),
  fc.constantFrom(new Token('hmac-sha256'), new Token('abc')),
  fc.boolean(),
  fc.uint8Array({ maxLength: 70 }),
  fc.double({ min: -1000, max: 1000, noNaN: true }).map((d) => Math.round(d * 1000) / 1000),
);
const sfParameters = fc
  .array(fc.tuple(sfKey, sfBareItem), { maxLength: 6 })
  .map((entries) => new Map(entries));
const sfItem = fc.tuple(sfBareItem, sfParameters);
const sfInnerList = fc.tuple(
  fc.array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('@method', '@target-uri', 'content-digest', '@authority', 'host'),
        sfBareItem,
      ),
      fc.oneof(
        { weight: 5, arbitrary: fc.constant(new Map()) },
        { weight: 1, arbitrary: sfParameters },
      ),
    ),
    { maxLength: 5 },
  ),
  sfParameters,
);
const sfDictionary = fc
  .array(fc.tuple(sfKey, fc.oneof(sfItem, sfInnerList)), { minLength: 1, maxLength: 3 })
  .map((entries) => {
    try {
      return serializeDictionary(new Map(entries as [string, Item | InnerList][]));
    } catch {
      return '';
    }
  });

const headerValue = fc.oneof(
  sfDictionary,
  fc.string({ unit: headerChar, maxLength: 200 }),
  fc.array(fragment, { maxLength: 40 }).map((parts) => parts.join('')),
  fc.string({ unit: headerChar, minLength: 1_000, maxLength: 3_000 }),
);

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), char: headerChar }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.string({ unit: headerChar, minLength: 1, maxLength: 8 }),
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
  }
}

// What the server sees: Node trims optional whitespace around a header value.
const ows = (value: string | undefined) => value?.replace(/^[ \t]+|[ \t]+$/g, '');

describe.each(platforms)('Signature headers under fuzzing on $name', (platform) => {
  let running: Omit<RunningApp, 'audit'>;
  let session: { id: string; key: Buffer };

  beforeAll(async () => {
    running = await listen(
      {
        imports: [MeshSessionModule.forRoot({ requestSigning: true, cleanupInterval: false })],
        controllers: [FuzzController],
      },
      platform,
    );
    const key = randomBytes(32);
    const created = await running.app.get(SessionManager).createSession('fuzzer', key);
    session = { id: created.id, key };
  });

  afterAll(async () => {
    await running.close();
  });

  function send(
    withBody: boolean,
    headers: Partial<Record<(typeof HEADERS)[number], string>>,
    body: string,
  ): Promise<request.Response> {
    const req = withBody
      ? request(running.url).post('/write').set('content-type', 'application/json')
      : request(running.url).get('/read');
    for (const name of HEADERS) {
      const value = headers[name];
      if (value !== undefined) req.set(name, value);
    }
    return (withBody ? req.send(body) : req).timeout(DEADLINE);
  }

  it('answers random headers with a 400 or a 401', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.option(headerValue, { nil: undefined }),
        fc.option(headerValue, { nil: undefined }),
        fc.option(headerValue, { nil: undefined }),
        async (withBody, signatureInput, signature, digest) => {
          const res = await send(
            withBody,
            { 'signature-input': signatureInput, signature, 'content-digest': digest },
            '{"a":1}',
          );
          expect([400, 401]).toContain(res.status);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('answers mutated valid headers with a 400 or a 401, and intact ones with a 200', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(fc.tuple(fc.constantFrom(...HEADERS, 'body' as const), mutation), {
          minLength: 1,
          maxLength: 3,
        }),
        async (withBody, mutations) => {
          const body = '{"amount":100,"to":"alice"}';
          const original: SignedRequestHeaders = signRequest({
            method: withBody ? 'POST' : 'GET',
            url: `${running.url}${withBody ? '/write' : '/read'}`,
            body: withBody ? Buffer.from(body) : undefined,
            sessionId: session.id,
            sessionKey: session.key,
          });
          const headers: Partial<Record<(typeof HEADERS)[number], string>> = { ...original };
          let sentBody = body;
          for (const [target, m] of mutations) {
            if (target === 'body') {
              sentBody = mutate(sentBody, m) ?? '';
            } else if (headers[target] !== undefined) {
              headers[target] = mutate(headers[target] as string, m);
            }
          }
          const intact =
            HEADERS.every((name) => ows(headers[name]) === ows(original[name])) &&
            (!withBody || sentBody === body);
          const res = await send(withBody, headers, sentBody);
          if (intact) {
            expect(res.status).toBe(200);
          } else {
            expect([400, 401]).toContain(res.status);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
