import { jest } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { Reflector } from '@nestjs/core';
import {
  createContentDigest,
  GRPC_SIGNING_PROFILE,
  MemorySessionStore,
  MeshSession,
  MeshAuditEmitter,
  RequestVerifier,
  SessionGuard,
  SessionManager,
  SessionMessages,
  SessionValidationError,
  SignatureVerificationError,
  SigningMessages,
  signRequest,
  verifyContentDigest,
  type MeshAuditEvent,
  type SignedRequestParts,
  type SignRequestInput,
} from '../../lib/index.js';
import { parseSignatureHeaders } from '../../lib/protocol/signing/signature-headers.js';
import { sessionMacMatches } from '../../lib/protocol/signing/session-mac.js';
import {
  buildSignatureBase,
  callSignatureBase,
  hmacSha256,
  targetUriOf,
} from '../../lib/protocol/signing/signature-base.js';
import { keyEncodings } from '../support/audit-recorder.js';

describe('Content-Digest (RFC 9530)', () => {
  const body = Buffer.from('{"hello": "world"}');

  it('matches the RFC 9530 example for SHA-256', () => {
    expect(createContentDigest(body)).toBe(
      'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
    );
    expect(verifyContentDigest(createContentDigest(body), body)).toBe('match');
  });

  it('verifies sha-512 next to sha-256, and tells a mismatch from a malformed value', () => {
    const sha512 =
      'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:';
    expect(verifyContentDigest(`${createContentDigest(body)}, ${sha512}`, body)).toBe('match');
    expect(verifyContentDigest(createContentDigest(body), Buffer.from('{"hello": "World"}'))).toBe(
      'mismatch',
    );
    const other = Buffer.from('x');
    expect(verifyContentDigest(`${createContentDigest(body)}, ${sha512}`, other)).toBe('mismatch');
  });

  it.each([
    ['no sha-256', 'sha-512=:AAAA:'],
    ['an unknown algorithm', `${createContentDigest(body)}, md5=:AAAA:`],
    ['a string value', 'sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="'],
    ['a short digest', 'sha-256=:AAAA:'],
    ['parameters', `${createContentDigest(body)};q=1`],
    [
      'non-canonical spacing',
      `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,sha-512=:AA==:`,
    ],
    ['garbage', 'sha-256=:not base64!:'],
    ['an oversized value', `sha-256=:${'A'.repeat(600)}:`],
    ['empty', ''],
  ])('calls %s malformed', (_name, header) => {
    expect(verifyContentDigest(header, body)).toBe('malformed');
  });
});

describe('Signature base (RFC 9421 §2.5)', () => {
  it('reproduces the RFC 9421 B.2.5 hmac-sha256 example', () => {
    const key = Buffer.from(
      'uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==',
      'base64',
    );
    const values: Record<string, string> = {
      date: 'Tue, 20 Apr 2021 02:07:55 GMT',
      '@authority': 'example.com',
      'content-type': 'application/json',
    };
    const base = buildSignatureBase(
      ['date', '@authority', 'content-type'],
      (name) => values[name],
      '("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
    ) as string;
    expect(base).toBe(
      [
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@authority": example.com',
        '"content-type": application/json',
        '"@signature-params": ("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
      ].join('\n'),
    );
    expect(hmacSha256(key, base).toString('base64')).toBe(
      'pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=',
    );
  });

  it('refuses a component without a value or with a line break', () => {
    expect(buildSignatureBase(['@method'], () => undefined, '()')).toBeUndefined();
    expect(buildSignatureBase(['x'], () => 'a\n"@method": GET', '()')).toBeUndefined();
  });

  it("writes a call entry's base as the generic builder does for the gRPC profile", () => {
    for (let i = 0; i < 200; i++) {
      const path = `/pkg${i}.v1.Service/Method${randomBytes(3).toString('hex')}`;
      const digest = createContentDigest(randomBytes(i));
      const params = `("@path" "content-digest");created=${i};nonce="${randomBytes(24).toString('base64url')}";keyid="${randomUUID()}";alg="hmac-sha256"`;
      const values: Record<string, string> = { '@path': path, 'content-digest': digest };
      expect(callSignatureBase(path, digest, params)).toBe(
        buildSignatureBase(GRPC_SIGNING_PROFILE.required, (name) => values[name], params),
      );
    }
  });

  it.each([
    ['no path', undefined, 'sha-256=:AA==:'],
    ['a path with a line feed', '/a.B/C\n"@method": GET', 'sha-256=:AA==:'],
    ['a path with a carriage return', '/a.B/C\r', 'sha-256=:AA==:'],
    ['a digest with a line break', '/a.B/C', 'sha-256=:AA==:\n'],
  ])("refuses a call entry's base with %s", (_case, path, digest) => {
    expect(callSignatureBase(path, digest, '()')).toBeUndefined();
  });

  it('checks a MAC with the key of a stored, an unstored and a plain session alike', async () => {
    const key = randomBytes(32);
    const base = '"@method": GET\n"@signature-params": ("@method");created=1';
    const mac = hmacSha256(key, base);
    const wrong = Buffer.from(mac).fill(1, 0, 1);
    const store = new MemorySessionStore();
    const stored = new MeshSession(
      randomUUID(),
      'svc',
      Buffer.from(key),
      1,
      1,
      Date.now() + 60_000,
    );
    await store.create(stored);
    const unstored = new MeshSession(randomUUID(), 'svc', Buffer.from(key), 1, 1, 2);
    // A custom store's plain Session hands out the Buffer it keeps: it must stay intact.
    const kept = Buffer.from(key);
    const plain = { ...stored.toJSON(), sessionKey: kept };
    const sent = mac.toString('base64');
    for (const session of [stored, unstored, plain]) {
      expect(sessionMacMatches(session, sent, base)).toBe(true);
      expect(sessionMacMatches(session, wrong.toString('base64'), base)).toBe(false);
      expect(sessionMacMatches(session, mac.subarray(0, 31).toString('base64'), base)).toBe(false);
      expect(
        sessionMacMatches(
          session,
          Buffer.concat([mac, mac.subarray(0, 1)]).toString('base64'),
          base,
        ),
      ).toBe(false);
      expect(sessionMacMatches(session, sent, `${base} `)).toBe(false);
    }
    expect(kept.equals(key)).toBe(true);
    expect(stored.sessionKey.equals(key)).toBe(true);
    await store.delete(stored.id);
    expect(() => sessionMacMatches(stored, sent, base)).toThrow('no longer available');
  });

  it('builds @target-uri from a WHATWG URL: lower-case host, no default port, no fragment', () => {
    expect(targetUriOf(new URL('HTTP://Example.COM:80/a%20b/../c?q=1#frag'))).toBe(
      'http://example.com/c?q=1',
    );
  });
});

describe('signRequest', () => {
  const sessionId = randomUUID();
  const sessionKey = randomBytes(32);

  it('covers @method and @target-uri, and content-digest with a body', () => {
    const get = signRequest({
      method: 'get',
      url: 'http://a/x',
      sessionId,
      sessionKey,
      created: 5,
      nonce: 'n'.repeat(16),
    });
    expect(get).toEqual({
      'signature-input': `mesh=("@method" "@target-uri");created=5;nonce="${'n'.repeat(16)}";keyid="${sessionId}";alg="hmac-sha256"`,
      signature: expect.stringMatching(/^mesh=:[A-Za-z0-9+/]{43}=:$/),
    });
    const post = signRequest({
      method: 'POST',
      url: 'http://a/x',
      body: Buffer.from('{}'),
      sessionId,
      sessionKey,
    });
    expect(post['signature-input']).toMatch(
      /^mesh=\("@method" "@target-uri" "content-digest"\);created=\d+;nonce="[\w-]{43}";/,
    );
    expect(post['content-digest']).toBe(createContentDigest(Buffer.from('{}')));
  });

  it('gives a fresh nonce each time', () => {
    const a = signRequest({ method: 'GET', url: 'http://a/', sessionId, sessionKey });
    const b = signRequest({ method: 'GET', url: 'http://a/', sessionId, sessionKey });
    expect(a['signature-input']).not.toBe(b['signature-input']);
  });

  describe('checks the session and the parameters', () => {
    const request = { method: 'POST', url: 'http://a/x', body: Buffer.from('{}') };

    /** The TypeError signing with these inputs gives, or `undefined`; other errors fail as is. */
    function refusal(change: Record<string, unknown>): TypeError | undefined {
      try {
        signRequest({ ...request, sessionId, sessionKey, ...change } as SignRequestInput);
      } catch (error) {
        if (error instanceof TypeError) return error;
        throw error;
      }
      return undefined;
    }

    const expected: Record<string, string> = {
      sessionId: 'a session id',
      sessionKey: 'a 32-byte Buffer',
      nonce: '16 to 128 printable ASCII characters',
      created: 'whole seconds since the epoch',
    };

    it.each([
      ['sessionId', ''],
      ['sessionId', 'a\r\nb'],
      ['sessionId', 'ключ'],
      ['sessionId', undefined],
      ['sessionKey', randomBytes(16)],
      ['sessionKey', randomBytes(64)],
      ['sessionKey', new Uint8Array(32)],
      ['sessionKey', randomBytes(32).toString('hex')],
      ['sessionKey', undefined],
      ['nonce', 'n'.repeat(15)],
      ['nonce', 'n'.repeat(129)],
      ['nonce', `${'n'.repeat(20)}\u0000`],
      ['nonce', 42],
      ['created', -1],
      ['created', 0.5],
      ['created', Number.NaN],
      ['created', 2 ** 53],
      ['created', 10 ** 15],
      ['created', '5'],
    ])('refuses %s = %p with a TypeError naming it', (argument, value) => {
      const error = refusal({ [argument]: value });
      expect(error).toEqual(
        new TypeError(SessionMessages.invalidArgument(argument, expected[argument], value)),
      );
      expect(error?.message).toMatch(new RegExp(`^Argument "${argument}" must be `));
    });

    it("never puts the key's bytes in the error", () => {
      const key = randomBytes(32);
      for (const change of [
        { sessionKey: key.subarray(0, 31) },
        { sessionKey: Buffer.concat([key, Buffer.alloc(1)]) },
        { sessionKey: new Uint8Array(key) },
        { sessionKey: key.toString('hex') },
        { sessionKey: key.toString('base64') },
        { sessionId: `${key.toString('base64')}\n` },
        { nonce: key.toString('hex').repeat(3) },
      ]) {
        const message = refusal(change)?.message;
        expect(message).toMatch(/^Argument "\w+" must be /);
        for (const encoding of [
          ...keyEncodings(key),
          key.subarray(0, 31).toString('hex'),
          Array.from(key).join(','),
        ]) {
          expect(message).not.toContain(encoding);
        }
      }
    });

    it('accepts the bounds, and signs with what it was given', () => {
      for (const change of [
        { nonce: 'n'.repeat(16) },
        { nonce: 'n'.repeat(128) },
        { created: 0 },
        { created: 999_999_999_999_999 },
      ]) {
        expect(refusal(change)).toBeUndefined();
      }
      const signed = signRequest({
        ...request,
        sessionId,
        sessionKey,
        created: 0,
        nonce: 'n'.repeat(128),
      });
      expect(signed['signature-input']).toContain(`;created=0;nonce="${'n'.repeat(128)}";`);
    });
  });
});

describe('parseSignatureHeaders', () => {
  const id = randomUUID();
  const valid = signRequest({
    method: 'GET',
    url: 'http://a/x',
    sessionId: id,
    sessionKey: randomBytes(32),
  });
  const parse = (headers: Record<string, string | string[] | undefined>) => {
    try {
      parseSignatureHeaders(headers);
      return 'ok';
    } catch (error) {
      return (error as SignatureVerificationError).reason;
    }
  };

  it('parses a valid pair', () => {
    const parsed = parseSignatureHeaders({ ...valid });
    expect(parsed.label).toBe('mesh');
    expect(parsed.components).toEqual(['@method', '@target-uri']);
    expect(parsed.params).toMatchObject({ keyid: id, alg: 'hmac-sha256' });
    expect(parsed.signatureParams).toBe(valid['signature-input'].slice('mesh='.length));
    expect(parsed.signature).toBe(/^mesh=:(.*):$/.exec(valid.signature)?.[1]);
    expect(Buffer.from(parsed.signature, 'base64')).toHaveLength(32);
  });

  it.each<[string, Record<string, string | string[] | undefined>, string]>([
    ['no headers', {}, 'signature_missing'],
    ['no Signature', { 'signature-input': valid['signature-input'] }, 'signature_malformed'],
    ['no Signature-Input', { signature: valid.signature }, 'signature_malformed'],
    [
      'an array',
      { ...valid, signature: [valid.signature, valid.signature] },
      'signature_malformed',
    ],
    [
      'two signatures',
      { ...valid, signature: `${valid.signature}, other=:AAAA:` },
      'signature_malformed',
    ],
    [
      'another label',
      { ...valid, signature: valid.signature.replace('mesh=', 'other=') },
      'signature_malformed',
    ],
    [
      'an item, not an inner list',
      { ...valid, 'signature-input': 'mesh=1' },
      'signature_malformed',
    ],
    [
      'a duplicated component',
      {
        ...valid,
        'signature-input': valid['signature-input'].replace('"@target-uri"', '"@method"'),
      },
      'signature_malformed',
    ],
    [
      'an unknown component',
      { ...valid, 'signature-input': valid['signature-input'].replace('"@target-uri"', '"@path"') },
      'signature_malformed',
    ],
    [
      'a component parameter',
      {
        ...valid,
        'signature-input': valid['signature-input'].replace('"@method"', '"@method";req'),
      },
      'signature_malformed',
    ],
    [
      'an unknown parameter',
      { ...valid, 'signature-input': `${valid['signature-input']};foo=1` },
      'signature_malformed',
    ],
    [
      'a string created',
      {
        ...valid,
        'signature-input': valid['signature-input'].replace(/created=\d+/, 'created="1"'),
      },
      'signature_malformed',
    ],
    [
      'a negative created',
      {
        ...valid,
        'signature-input': valid['signature-input'].replace(/created=\d+/, 'created=-1'),
      },
      'signature_malformed',
    ],
    [
      'a short nonce',
      {
        ...valid,
        'signature-input': valid['signature-input'].replace(/nonce="[^"]+"/, 'nonce="abc"'),
      },
      'signature_malformed',
    ],
    ['a signature string', { ...valid, signature: 'mesh="abc"' }, 'signature_malformed'],
    [
      'a signature with parameters',
      { ...valid, signature: `${valid.signature};x=1` },
      'signature_malformed',
    ],
    [
      'non-canonical spacing',
      { ...valid, 'signature-input': valid['signature-input'].replace('" "', '"  "') },
      'signature_malformed',
    ],
    [
      'no @target-uri',
      { ...valid, 'signature-input': valid['signature-input'].replace(' "@target-uri"', '') },
      'signature_incomplete',
    ],
    [
      'no keyid',
      { ...valid, 'signature-input': valid['signature-input'].replace(/;keyid="[^"]+"/, '') },
      'signature_incomplete',
    ],
    [
      'alg ed25519',
      { ...valid, 'signature-input': valid['signature-input'].replace('hmac-sha256', 'ed25519') },
      'signature_algorithm',
    ],
    [
      'an oversized Signature-Input',
      { ...valid, 'signature-input': `${valid['signature-input']};tag="${'t'.repeat(1_100)}"` },
      'signature_malformed',
    ],
  ])('refuses %s', (_name, headers, reason) => {
    expect(parse(headers)).toBe(reason);
  });
});

describe('RequestVerifier', () => {
  const SESSION_TIMEOUT = 3_600_000;
  let store: MemorySessionStore;
  let manager: SessionManager;
  let events: MeshAuditEvent[];
  let verifier: RequestVerifier;
  let warn: jest.Mock<(message: string) => void>;

  beforeEach(() => {
    store = new MemorySessionStore();
    events = [];
    const audit = new MeshAuditEmitter({
      adapters: [{ logEvent: async (e) => void events.push(e) }],
    });
    manager = new SessionManager(store, { sessionTimeout: SESSION_TIMEOUT }, audit);
    warn = jest.fn<(message: string) => void>();
    verifier = new RequestVerifier(manager, { warn });
  });

  function parts(
    headers: Record<string, string>,
    overrides: Partial<SignedRequestParts> = {},
  ): SignedRequestParts {
    return {
      method: 'GET',
      targetUri: 'http://a/x',
      headers,
      rawBody: undefined,
      hasBody: false,
      ...overrides,
    };
  }

  /** The headers of a GET of http://a/x signed for a session (a bad key makes a forgery). */
  function signedGet(
    sessionId: string,
    sessionKey: Buffer,
    extra: Partial<SignRequestInput> = {},
  ): Record<string, string> {
    return {
      ...signRequest({ method: 'GET', url: 'http://a/x', sessionId, sessionKey, ...extra }),
    };
  }

  it('uses a 60 s skew by default, and maxClockSkew when set', () => {
    expect(verifier.maxClockSkew).toBe(60_000);
    expect(new RequestVerifier(manager).maxClockSkew).toBe(60_000);
    expect(new RequestVerifier(manager, { maxClockSkew: 5_000 }).maxClockSkew).toBe(5_000);
  });

  it('verifyNow gives the answers of verify without a Promise on a store in this process', async () => {
    const key = randomBytes(32);
    const session = await manager.createSession('svc', key);
    const revoked = await manager.createSession('svc', key);
    await manager.updateSessionMetadata(revoked.id, { revoked: true });
    const claims = jest.spyOn(store, 'claimNonceAndTouchNow');
    const now = Date.now() + 5;
    const created = Math.floor(now / 1000);
    const refusal = (headers: Record<string, string>): unknown => {
      try {
        return verifier.verifyNow(parts(headers), now);
      } catch (error) {
        return error;
      }
    };

    const forged = signedGet(session.id, randomBytes(32), { created });
    expect(refusal(forged)).toMatchObject({
      constructor: SignatureVerificationError,
      reason: 'signature_invalid',
    });
    expect(claims).not.toHaveBeenCalled();
    expect(refusal(signedGet(randomUUID(), key, { created }))).toMatchObject({
      constructor: SessionValidationError,
      reason: 'not_found',
    });
    expect(refusal(signedGet(revoked.id, key, { created }))).toMatchObject({
      constructor: SessionValidationError,
      reason: 'revoked',
    });
    expect(await manager.getSession(revoked.id)).toBeUndefined();

    const good = signedGet(session.id, key, { created, nonce: 'nonce-verified-now-1' });
    const answer = verifier.verifyNow(parts(good), now);
    expect(answer).not.toBeInstanceOf(Promise);
    expect(answer).toMatchObject({ id: session.id, lastActivity: now });
    expect(claims).toHaveBeenCalledWith(
      session.id,
      'nonce-verified-now-1',
      created * 1000 + 60_000 - now + 1_000,
      now,
      SESSION_TIMEOUT,
      undefined,
    );
    expect(refusal(good)).toMatchObject({ reason: 'signature_replayed' });
    // The nonce is spent for verify too: both ways share one store.
    await expect(verifier.verify(parts(good), now)).rejects.toMatchObject({
      reason: 'signature_replayed',
    });
  });

  it('verifyNow returns the Promise of verify on a store that answers through Promises only', async () => {
    const key = randomBytes(32);
    const session = await manager.createSession('svc', key);
    jest.spyOn(manager, 'readSessionNow').mockReturnValue(undefined);
    const read = jest.spyOn(manager, 'readSession');
    const answer = verifier.verifyNow(parts(signedGet(session.id, key)));
    expect(answer).toBeInstanceOf(Promise);
    await expect(answer).resolves.toMatchObject({ id: session.id });
    expect(read).toHaveBeenCalledTimes(1);
  });

  it('checks the session before the clock: an unknown session with a stale created is "not found"', async () => {
    const headers = signedGet(randomUUID(), randomBytes(32), { created: 1 });
    await expect(verifier.verify(parts({ ...headers }))).rejects.toMatchObject({
      constructor: SessionValidationError,
      reason: 'not_found',
    });
  });

  it('reads the session without writing, and claims the nonce and slides only after the HMAC', async () => {
    const key = randomBytes(32);
    const session = await manager.createSession('svc', key);
    const before = session.lastActivity;
    const get = jest.spyOn(store, 'get');
    const claimAndTouch = jest.spyOn(store, 'claimNonceAndTouch');
    const claim = jest.spyOn(store, 'claimNonce');
    const touch = jest.spyOn(store, 'touch');
    const now = Date.now() + 5;
    const created = Math.floor(now / 1000);
    const nonce = 'nonce-under-test-0001';
    const forged = signedGet(session.id, randomBytes(32), { created, nonce });
    await expect(verifier.verify(parts({ ...forged }), now)).rejects.toMatchObject({
      reason: 'signature_invalid',
    });
    expect(get).toHaveBeenCalledWith(session.id, now);
    expect(claimAndTouch).not.toHaveBeenCalled();
    expect(claim).not.toHaveBeenCalled();
    expect(touch).not.toHaveBeenCalled();
    expect(session.lastActivity).toBe(before);

    // The forged request claimed nothing: the same nonce, signed with the key, goes through.
    const good = signedGet(session.id, key, { created, nonce });
    await expect(verifier.verify(parts({ ...good }), now)).resolves.toMatchObject({
      id: session.id,
      lastActivity: now,
    });
    // The nonce stays claimed for as long as created would still be accepted.
    expect(claimAndTouch).toHaveBeenCalledTimes(1);
    expect(claimAndTouch).toHaveBeenCalledWith(
      session.id,
      nonce,
      created * 1000 + 60_000 - now + 1_000,
      now,
      SESSION_TIMEOUT,
      undefined,
    );
    expect(get.mock.invocationCallOrder[1]).toBeLessThan(claimAndTouch.mock.invocationCallOrder[0]);

    // A replay verifies, then finds its nonce used: refused, and nothing slides.
    await expect(verifier.verify(parts({ ...good }), now + 1)).rejects.toMatchObject({
      reason: 'signature_replayed',
      message: 'Request nonce already used',
    });
    expect(claimAndTouch).toHaveBeenCalledTimes(2);
    expect((await store.get(session.id, now + 1))?.lastActivity).toBe(now);
  });

  it('claims no nonce for requests with a valid keyid and fresh nonces but no valid signature', async () => {
    const key = randomBytes(32);
    const session = await manager.createSession('svc', key);
    const claimAndTouch = jest.spyOn(store, 'claimNonceAndTouch');
    const claim = jest.spyOn(store, 'claimNonce');
    const touch = jest.spyOn(store, 'touch');
    const body = Buffer.from('{"a":1}');
    const nonces: string[] = [];
    for (let i = 0; i < 50; i++) {
      const nonce = `fresh-nonce-${String(i).padStart(4, '0')}`;
      nonces.push(nonce);
      const sign = (sessionKey: Buffer, withBody = false) =>
        signRequest({
          method: withBody ? 'POST' : 'GET',
          url: 'http://a/x',
          body: withBody ? body : undefined,
          sessionId: session.id,
          sessionKey,
          nonce,
        });
      const attempt =
        i % 3 === 0
          ? // a wrong key
            parts({ ...sign(randomBytes(32)) })
          : i % 3 === 1
            ? // a signature of the wrong length
              parts({ ...sign(key), signature: `mesh=:${randomBytes(16).toString('base64')}:` })
            : // the right key, but a body that is not the one signed
              parts(
                { ...sign(key, true) },
                { method: 'POST', hasBody: true, rawBody: Buffer.from('{"a":2}') },
              );
      await expect(verifier.verify(attempt)).rejects.toMatchObject({
        reason: expect.stringMatching(/^(signature_invalid|digest_mismatch)$/),
      });
    }
    expect(claimAndTouch).not.toHaveBeenCalled();
    expect(claim).not.toHaveBeenCalled();
    expect(touch).not.toHaveBeenCalled();
    // Every one of those nonces is still free in the session's scope.
    for (const nonce of nonces)
      expect(await store.claimNonce(session.id, nonce, 1_000, 0)).toBe(true);
  });

  it('refuses a session that ended between the read and the claim, and counts an expiry', async () => {
    const key = randomBytes(32);
    const session = await manager.createSession('svc', key);
    const headers = signedGet(session.id, key);
    const now = Date.now();
    jest.spyOn(store, 'claimNonceAndTouch').mockResolvedValueOnce({
      session: { ...session, expiresAt: now },
      nonceFresh: true,
    });
    await expect(verifier.verify(parts({ ...headers }), now)).rejects.toMatchObject({
      constructor: SessionValidationError,
      reason: 'not_found',
    });
    expect((await manager.getStats()).expired).toBe(1);
    await manager.invalidateSession(session.id);
    const again = signedGet(session.id, key);
    await expect(verifier.verify(parts({ ...again }))).rejects.toMatchObject({
      reason: 'not_found',
    });
  });

  it('refuses and invalidates a session revoked between the read and the claim', async () => {
    const key = randomBytes(32);
    const session = await manager.createSession('svc', key);
    const headers = signedGet(session.id, key);
    const claimAndTouch = store.claimNonceAndTouch.bind(store);
    jest.spyOn(store, 'claimNonceAndTouch').mockImplementationOnce(async (...args) => {
      await manager.updateSessionMetadata(session.id, { revoked: true });
      return claimAndTouch(...args);
    });
    await expect(verifier.verify(parts({ ...headers }))).rejects.toMatchObject({
      reason: 'revoked',
    });
    expect(await manager.getSessionsByServiceId('svc')).toEqual([]);
  });

  it('needs content-digest when the request has a body, and the raw bytes to check it', async () => {
    const key = randomBytes(32);
    const session = await manager.createSession('svc', key);
    const bare = signRequest({
      method: 'POST',
      url: 'http://a/x',
      sessionId: session.id,
      sessionKey: key,
    });
    await expect(
      verifier.verify(
        parts({ ...bare }, { method: 'POST', hasBody: true, rawBody: Buffer.from('{}') }),
      ),
    ).rejects.toMatchObject({ reason: 'signature_incomplete' });

    const body = Buffer.from('{}');
    const withDigest = signRequest({
      method: 'POST',
      url: 'http://a/x',
      body,
      sessionId: session.id,
      sessionKey: key,
    });
    await expect(
      verifier.verify(
        parts({ ...withDigest }, { method: 'POST', hasBody: true, rawBody: undefined }),
      ),
    ).rejects.toMatchObject({ reason: 'body_unverifiable' });
    // The operator hears how to fix it, once: the next such request is refused without a word.
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(SigningMessages.rawBodyMissing());
    const twice = signRequest({
      method: 'POST',
      url: 'http://a/x',
      body,
      sessionId: session.id,
      sessionKey: key,
    });
    await expect(
      verifier.verify(parts({ ...twice }, { method: 'POST', hasBody: true, rawBody: undefined })),
    ).rejects.toMatchObject({ reason: 'body_unverifiable' });
    expect(warn).toHaveBeenCalledTimes(1);
    const again = signRequest({
      method: 'POST',
      url: 'http://a/x',
      body,
      sessionId: session.id,
      sessionKey: key,
    });
    await expect(
      verifier.verify(parts({ ...again }, { method: 'POST', hasBody: true, rawBody: body })),
    ).resolves.toMatchObject({ id: session.id });
  });

  it('reports a missing raw body on console.error when given no warn', async () => {
    const errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const key = randomBytes(32);
      const session = await manager.createSession('svc', key);
      const quiet = new RequestVerifier(manager);
      const signed = () =>
        signRequest({
          method: 'POST',
          url: 'http://a/x',
          body: Buffer.from('{}'),
          sessionId: session.id,
          sessionKey: key,
        });
      for (let i = 0; i < 2; i++) {
        await expect(
          quiet.verify(parts({ ...signed() }, { method: 'POST', hasBody: true })),
        ).rejects.toMatchObject({ reason: 'body_unverifiable' });
      }
      expect(errors).toHaveBeenCalledTimes(1);
      expect(errors).toHaveBeenCalledWith(SigningMessages.rawBodyMissing());
    } finally {
      errors.mockRestore();
    }
  });

  it('needs content-digest for a body that came without Content-Length or Transfer-Encoding', async () => {
    const key = randomBytes(32);
    const session = await manager.createSession('svc', key);
    const guard = new SessionGuard(
      manager,
      new Reflector(),
      { sessionHeader: 'x-mesh-session-id', requestSigning: true, storeTimeout: 2_000 },
      null,
      verifier,
    );
    const body = Buffer.from('{"pay":100}');
    const requestOf = (headers: Record<string, string>, rawBody?: Buffer) =>
      guard['getSignedRequest']({
        method: 'POST',
        url: '/x',
        headers: { host: 'a', ...headers },
        rawBody,
      });

    // Body bytes with neither header: the guard still says there is a body.
    const bare = signRequest({
      method: 'POST',
      url: 'http://a/x',
      sessionId: session.id,
      sessionKey: key,
    });
    const parts = requestOf({ ...bare }, body);
    expect(parts).toMatchObject({ hasBody: true, rawBody: body, targetUri: 'http://a/x' });
    await expect(verifier.verify(parts)).rejects.toMatchObject({
      reason: 'signature_incomplete',
    });

    // Covered by a digest, the same body goes through.
    const covered = signRequest({
      method: 'POST',
      url: 'http://a/x',
      body,
      sessionId: session.id,
      sessionKey: key,
    });
    await expect(verifier.verify(requestOf({ ...covered }, body))).resolves.toMatchObject({
      id: session.id,
    });

    // No bytes (or none kept) and no header: no body, no digest needed.
    expect(requestOf({}, Buffer.alloc(0)).hasBody).toBe(false);
    expect(requestOf({}).hasBody).toBe(false);
    expect(requestOf({ 'content-length': '2' }).hasBody).toBe(true);
    expect(requestOf({ 'transfer-encoding': 'chunked' }).hasBody).toBe(true);
    const empty = signRequest({
      method: 'POST',
      url: 'http://a/x',
      sessionId: session.id,
      sessionKey: key,
    });
    await expect(verifier.verify(requestOf({ ...empty }, Buffer.alloc(0)))).resolves.toMatchObject({
      id: session.id,
    });
  });

  it('counts and audits each refusal with its reason and the service', async () => {
    const session = await manager.createSession('svc', randomBytes(32));
    const headers = signedGet(session.id, randomBytes(32));
    await verifier.verify(parts({ ...headers })).catch(() => undefined);
    await verifier.verify(parts({})).catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await manager.getStats()).rejected).toBe(2);
    expect(events.map((e) => [e.eventType, e.serviceId, e.details.error])).toEqual(
      expect.arrayContaining([
        ['error', 'svc', 'signature_invalid'],
        ['error', 'unknown', 'signature_missing'],
      ]),
    );
  });
});
