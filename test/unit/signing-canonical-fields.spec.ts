import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import fc from 'fast-check';
import {
  parseDictionary,
  serializeDictionary,
  Token,
  type BareItem,
  type Dictionary,
  type InnerList,
  type Item,
} from 'structured-headers';
import {
  createContentDigest,
  signRequest,
  verifyContentDigest,
  type SignatureVerificationError,
} from '../../lib/index.js';
import { parseSignatureHeaders } from '../../lib/protocol/signing/signature-headers.js';
import { readCanonicalMembers, readMembers } from '../../lib/protocol/signing/signature-members.js';
import { readCanonicalByteSequence } from '../../lib/protocol/signing/canonical-fields.js';

/*
 * The canonical fast path (lib/protocol/signing/canonical-fields.ts) must accept and refuse
 * exactly what the general Structured Fields path accepts and refuses. The oracles below are the
 * general path alone, written out without the fast path; every header, valid, mutated or random,
 * must get the same outcome from the library as from the oracle.
 */

const KNOWN = new Set(['@method', '@target-uri', 'content-digest']);
const TYPES: Record<string, 'integer' | 'string'> = {
  created: 'integer',
  expires: 'integer',
  nonce: 'string',
  keyid: 'string',
  alg: 'string',
  tag: 'string',
};

/** The outcome of parseSignatureHeaders by the general parser alone: a reason or the result. */
function oracleSignature(headers: Record<string, string | string[] | undefined>): unknown {
  const input = headers['signature-input'];
  const signature = headers.signature;
  if (input === undefined && signature === undefined) return 'signature_missing';
  const parse = (value: unknown, limit: number): Dictionary | undefined => {
    if (typeof value !== 'string' || value.length > limit) return undefined;
    try {
      const dictionary = parseDictionary(value);
      return serializeDictionary(dictionary) === value ? dictionary : undefined;
    } catch {
      return undefined;
    }
  };
  const inputDictionary = parse(input, 1_024);
  const signatureDictionary = parse(signature, 512);
  if (inputDictionary === undefined || signatureDictionary === undefined) {
    return 'signature_malformed';
  }
  if (inputDictionary.size !== 1 || signatureDictionary.size !== 1) return 'signature_malformed';
  const [label, [items, parameters]] = [...inputDictionary.entries()][0];
  const signatureMember = signatureDictionary.get(label);
  if (signatureMember === undefined || !Array.isArray(items)) return 'signature_malformed';
  const components: string[] = [];
  for (const [name, itemParameters] of items) {
    if (
      typeof name !== 'string' ||
      itemParameters.size > 0 ||
      !KNOWN.has(name) ||
      components.includes(name)
    ) {
      return 'signature_malformed';
    }
    components.push(name);
  }
  const params: Record<string, string | number> = {};
  for (const [name, value] of parameters) {
    const type = Object.hasOwn(TYPES, name) ? TYPES[name] : undefined;
    const typed =
      type === 'string'
        ? typeof value === 'string'
        : typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
    if (type === undefined || !typed) return 'signature_malformed';
    params[name] = value as string | number;
  }
  if (
    ['@method', '@target-uri'].some((name) => !components.includes(name)) ||
    ['created', 'nonce', 'keyid', 'alg'].some((name) => params[name] === undefined)
  ) {
    return 'signature_incomplete';
  }
  if (params.alg !== 'hmac-sha256') return 'signature_algorithm';
  const nonce = params.nonce as string;
  if (nonce.length < 16 || nonce.length > 128) return 'signature_malformed';
  const [bytes, signatureParameters] = signatureMember;
  if (!(bytes instanceof ArrayBuffer) || signatureParameters.size > 0) return 'signature_malformed';
  return {
    label,
    components,
    params,
    signatureParams: (input as string).slice(label.length + 1),
    signature: Buffer.from(bytes).toString('base64'),
  };
}

/** verifyContentDigest by the general parser alone. */
function oracleDigest(header: string, body: Uint8Array): string {
  if (header.length > 512) return 'malformed';
  let entries: [string, Item | InnerList][];
  try {
    const dictionary = parseDictionary(header);
    if (serializeDictionary(dictionary) !== header) return 'malformed';
    entries = [...dictionary.entries()];
  } catch {
    return 'malformed';
  }
  if (!entries.some(([name]) => name === 'sha-256')) return 'malformed';
  const algorithms: Record<string, [string, number]> = {
    'sha-256': ['sha256', 32],
    'sha-512': ['sha512', 64],
  };
  let matches = true;
  for (const [name, [value, parameters]] of entries) {
    const algorithm = Object.hasOwn(algorithms, name) ? algorithms[name] : undefined;
    if (
      algorithm === undefined ||
      !(value instanceof ArrayBuffer) ||
      parameters.size > 0 ||
      value.byteLength !== algorithm[1]
    ) {
      return 'malformed';
    }
    const actual = createHash(algorithm[0]).update(body).digest();
    matches = timingSafeEqual(Buffer.from(value), actual) && matches;
  }
  return matches ? 'match' : 'mismatch';
}

function outcome(headers: Record<string, string | string[] | undefined>): unknown {
  try {
    const parsed = parseSignatureHeaders(headers);
    // Compared field by field with the oracle's plain object.
    return { ...parsed, params: { ...parsed.params } };
  } catch (error) {
    return (error as SignatureVerificationError).reason;
  }
}

const sessionId = randomUUID();
const sessionKey = randomBytes(32);
const body = Buffer.from('{"hello":"world"}');
const signed = (withBody: boolean) =>
  signRequest({
    method: withBody ? 'POST' : 'GET',
    url: 'http://greeter.local:3000/a/b?c=d',
    body: withBody ? body : undefined,
    sessionId,
    sessionKey,
  });

// Characters that matter to the grammar, and some that must never pass.
const ALPHABET = [...'abcmesh09-_.*AZ+/=:;,()" \\@', '\t', '\x7f', '\x80', 'é', '\u0000'];
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    char: fc.constantFrom(...ALPHABET),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    char: fc.constantFrom(...ALPHABET),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), char: fc.constant('') }),
);
function mutate(value: string, edits: { kind: string; at: number; char: string }[]): string {
  let out = value;
  for (const { kind, at, char } of edits) {
    const i = at % (out.length + 1);
    if (kind === 'replace') out = out.slice(0, i) + char + out.slice(i + 1);
    else if (kind === 'insert') out = out.slice(0, i) + char + out.slice(i);
    else out = out.slice(0, i) + out.slice(i + 1);
  }
  return out;
}

// Canonical dictionaries of every shape, so that random values pass the parser too.
const sfKey = fc.oneof(
  fc.constantFrom('mesh', 'sig1', 'created', 'expires', 'nonce', 'keyid', 'alg', 'tag', 'sha-256'),
  fc.stringMatching(/^[a-z*][a-z0-9_.*-]{0,5}$/),
);
const sfBareItem: fc.Arbitrary<BareItem> = fc.oneof(
  fc.integer({ min: 0, max: 2_000_000_000 }),
  fc.constantFrom(-1, 0, 999_999_999_999_999, 1.5),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }),
  fc.constantFrom('hmac-sha256', sessionId, 'n'.repeat(16), '@method', '@target-uri'),
  fc.constantFrom(new Token('hmac-sha256'), true, false),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => bytes.buffer as ArrayBuffer),
);
const sfParameters = fc
  .array(fc.tuple(sfKey, sfBareItem), { maxLength: 6 })
  .map((entries) => new Map(entries));
const sfInnerList: fc.Arbitrary<InnerList> = fc.tuple(
  fc.array(
    fc.tuple(
      fc.oneof(fc.constantFrom('@method', '@target-uri', 'content-digest', '@path'), sfBareItem),
      fc.oneof(
        { weight: 6, arbitrary: fc.constant(new Map()) },
        { weight: 1, arbitrary: sfParameters },
      ),
    ),
    { maxLength: 4 },
  ),
  sfParameters,
);
const sfDictionary = fc
  .array(
    fc.tuple(
      sfKey,
      fc.oneof(sfInnerList, fc.tuple(sfBareItem, sfParameters) as fc.Arbitrary<Item>),
    ),
    { minLength: 1, maxLength: 2 },
  )
  .map((entries) => {
    try {
      return serializeDictionary(new Map(entries));
    } catch {
      return 'mesh=()';
    }
  });

describe('canonical fast path for Signature-Input and Signature', () => {
  it('takes what signRequest emits, with the members the general parser gives', () => {
    for (const headers of [signed(false), signed(true)]) {
      const fast = readCanonicalMembers(headers['signature-input'], headers.signature);
      expect(fast).toBeDefined();
      expect(fast).toEqual(readMembers(headers['signature-input'], headers.signature));
      expect(outcome({ ...headers })).toEqual(oracleSignature({ ...headers }));
    }
  });

  it.each([
    [
      'parameters in another order, expires and tag',
      'x=("@target-uri" "@method");alg="hmac-sha256";keyid="k";created=0;expires=999999999999999;tag="t t";nonce="0123456789abcdef"',
    ],
    ['an empty inner list', 'mesh=();created=1'],
  ])('takes %s', (_name, input) => {
    const signature = `${input.slice(0, input.indexOf('='))}=:${randomBytes(32).toString('base64')}:`;
    const fast = readCanonicalMembers(input, signature);
    expect(fast).toBeDefined();
    expect(fast).toEqual(readMembers(input, signature));
  });

  it.each([
    ['an escaped quote', 'mesh=("@method" "@target-uri");nonce="ab\\"cdefghijklmnopq"'],
    ['a leading zero', 'mesh=("@method");created=01'],
    ['a 16-digit integer', 'mesh=("@method");created=1234567890123456'],
    ['a decimal', 'mesh=("@method");created=1.5'],
    ['a negative integer', 'mesh=("@method");created=-1'],
    ['a boolean parameter', 'mesh=("@method");created'],
    ['a token', 'mesh=("@method");alg=hmac-sha256'],
    ['a repeated parameter', 'mesh=("@method");created=1;created=2'],
    ['two members', 'mesh=("@method");created=1, other=()'],
    ['a double space', 'mesh=("@method"  "@target-uri")'],
    ['a component parameter', 'mesh=("@method";req)'],
    ['an upper-case label', 'Mesh=("@method")'],
    ['a trailing space', 'mesh=("@method") '],
  ])('leaves %s to the general parser', (_name, input) => {
    expect(readCanonicalMembers(input, 'mesh=:AAAA:')).toBeUndefined();
  });

  it.each([
    ['unpadded base64', 'mesh=:AAA:'],
    ['non-zero trailing bits', 'mesh=:AAB=:'],
    ['base64url', 'mesh=:-_-_:'],
    ['a colon inside', 'mesh=:AA:AA:'],
    ['parameters', 'mesh=:AAAA:;x=1'],
    ['another label', 'other=:AAAA:'],
    ['a space', 'mesh=:AA AA:'],
  ])('leaves a Signature with %s to the general parser', (_name, signature) => {
    expect(readCanonicalMembers('mesh=("@method");created=1', signature)).toBeUndefined();
  });

  it('gives the general parser’s outcome for mutated headers', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(mutation, { maxLength: 3 }),
        fc.array(mutation, { maxLength: 2 }),
        (withBody, inputEdits, signatureEdits) => {
          const valid = signed(withBody);
          const headers = {
            'signature-input': mutate(valid['signature-input'], inputEdits),
            signature: mutate(valid.signature, signatureEdits),
          };
          const fast = readCanonicalMembers(headers['signature-input'], headers.signature);
          if (fast !== undefined) {
            expect(fast).toEqual(readMembers(headers['signature-input'], headers.signature));
          }
          expect(outcome(headers)).toEqual(oracleSignature(headers));
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('gives the general parser’s outcome for random canonical dictionaries', () => {
    fc.assert(
      fc.property(sfDictionary, sfDictionary, (input, signature) => {
        const headers = { 'signature-input': input, signature };
        expect(outcome(headers)).toEqual(oracleSignature(headers));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('canonical fast path for Content-Digest', () => {
  const digest = createContentDigest(body);

  it('gives the general parser’s outcome for the digest createContentDigest emits', () => {
    expect(verifyContentDigest(digest, body)).toBe('match');
    expect(verifyContentDigest(digest, Buffer.from('other'))).toBe('mismatch');
    expect(verifyContentDigest('sha-256=:AAAA:', body)).toBe(oracleDigest('sha-256=:AAAA:', body));
  });

  it('gives the general parser’s outcome for mutated digests', () => {
    fc.assert(
      fc.property(fc.array(mutation, { maxLength: 3 }), fc.boolean(), (edits, sameBody) => {
        const header = mutate(digest, edits);
        const bytes = sameBody ? body : Buffer.from('{"hello":"World"}');
        expect(verifyContentDigest(header, bytes)).toBe(oracleDigest(header, bytes));
      }),
      { numRuns: 3_000 },
    );
  });
});

describe('canonical fast path for byte sequences', () => {
  // Standard and url alphabets, padding, and a few characters Buffer's decoder skips.
  const base64ish = fc
    .array(fc.constantFrom(...'ABQZagz09+/=-_ .:'.split('')), { maxLength: 12 })
    .map((chars) => chars.join(''));

  it('takes exactly the base64 whose bytes encode back to it, and keeps it as text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          base64ish,
          fc.uint8Array({ maxLength: 9 }).map((bytes) => Buffer.from(bytes).toString('base64')),
        ),
        (text) => {
          const read = readCanonicalByteSequence(`k=:${text}:`);
          const roundTrips =
            !text.includes(':') && Buffer.from(text, 'base64').toString('base64') === text;
          expect(read).toEqual(roundTrips ? { key: 'k', base64: text } : undefined);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it.each([
    ['non-zero bits before one pad', 'ABC='],
    ['non-zero bits before two pads', 'AB=='],
    ['padding inside', 'A=AA'],
    ['only padding', '===='],
    ['base64url', '-_-_'],
  ])('leaves %s to the general parser', (_name, text) => {
    expect(readCanonicalByteSequence(`k=:${text}:`)).toBeUndefined();
  });

  it('reads an empty byte sequence', () => {
    expect(readCanonicalByteSequence('k=::')).toEqual({ key: 'k', base64: '' });
  });
});
