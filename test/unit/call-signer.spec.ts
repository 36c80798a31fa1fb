import { randomBytes } from 'node:crypto';
import { SessionMessages, signGrpcCall } from '../../lib/index.js';
import { keyEncodings } from '../support/audit-recorder.js';

// The worked example of docs/grpc.md: a second signer can check itself against it.
const EXAMPLE = {
  path: '/greeter.v1.Greeter/Greet',
  message: Buffer.from('0a05576f726c64', 'hex'),
  sessionId: '3b241101-e2bb-4255-8caf-4136c566a962',
  sessionKey: Buffer.from([...Array(32).keys()]),
  created: 1767225600,
  nonce: 'n8Xk2QeZ7rVb1sLmPq4TcA',
};

describe('signGrpcCall', () => {
  it('gives the worked example of the gRPC page as one x-mesh-signature entry by default', () => {
    expect(signGrpcCall(EXAMPLE)).toEqual({
      'x-mesh-signature':
        'keyid=3b241101-e2bb-4255-8caf-4136c566a962;created=1767225600;nonce=n8Xk2QeZ7rVb1sLmPq4TcA;sig=M5xHy5eFcMdhCNSDL2M82OXtnjdVOuolnP0qr3IX3Uo=',
    });
  });

  it('signs the same base in both forms: the entry carries the RFC 9421 MAC', () => {
    const entry = signGrpcCall({ ...EXAMPLE, nonce: 'a'.repeat(16) })['x-mesh-signature'];
    const rfc = signGrpcCall({ ...EXAMPLE, nonce: 'a'.repeat(16) }, { format: 'rfc9421' });
    expect(`sig=${/^mesh=:(.*):$/.exec(rfc.signature)?.[1]}`).toBe(/sig=.*$/.exec(entry)?.[0]);
  });

  it.each([
    ['a quote', 'n8Xk2QeZ7rVb1sL"q4TcA'],
    ['a space', 'n8Xk2QeZ7rVb1sL q4TcA'],
    ['a semicolon', 'n8Xk2QeZ7rVb1sL;q4TcA'],
  ])('refuses a nonce with %s in the entry form, naming it', (_case, nonce) => {
    expect(() => signGrpcCall({ ...EXAMPLE, nonce })).toThrow(
      new TypeError(
        SessionMessages.invalidArgument('nonce', '16 to 128 base64url characters', nonce),
      ),
    );
  });

  it('gives the worked example of the gRPC page', () => {
    expect(signGrpcCall(EXAMPLE, { format: 'rfc9421' })).toEqual({
      'content-digest': 'sha-256=:SIVVIOnOr6ctqdiHmfUqUD/yqfVXvpHLjTxPSuLsqs0=:',
      'signature-input':
        'mesh=("@path" "content-digest");created=1767225600;nonce="n8Xk2QeZ7rVb1sLmPq4TcA";keyid="3b241101-e2bb-4255-8caf-4136c566a962";alg="hmac-sha256"',
      signature: 'mesh=:M5xHy5eFcMdhCNSDL2M82OXtnjdVOuolnP0qr3IX3Uo=:',
    });
  });

  it('signs the empty message with the digest of zero bytes', () => {
    expect(
      signGrpcCall({ ...EXAMPLE, message: new Uint8Array(0) }, { format: 'rfc9421' })[
        'content-digest'
      ],
    ).toBe('sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:');
  });

  it.each(['greeter.v1.Greeter/Greet', '/greeter.v1.Greeter', '/a/b\n', '/a b/c', ''])(
    'refuses the method path %j, naming it',
    (path) => {
      expect(() => signGrpcCall({ ...EXAMPLE, path }, { format: 'rfc9421' })).toThrow(
        new TypeError(
          `The call cannot be signed: ${JSON.stringify(path)} is not a gRPC method path such as "/package.Service/Method"`,
        ),
      );
    },
  );

  describe('checks the session and the parameters before signing', () => {
    /**
     * The TypeError that signing with this one input changed gives, or `undefined`; any other
     * error fails the test as it is.
     */
    function refusal(change: Record<string, unknown>): TypeError | undefined {
      try {
        signGrpcCall({ ...EXAMPLE, ...change } as typeof EXAMPLE, { format: 'rfc9421' });
      } catch (error) {
        if (error instanceof TypeError) return error;
        throw error;
      }
      return undefined;
    }

    it.each([
      ['empty', ''],
      ['with a line break', 'a\nb'],
      ['with a tab', 'a\tb'],
      ['not ASCII', 'sessión'],
      ['a number', 42],
      ['missing', undefined],
    ])('refuses a session id %s, naming sessionId', (_case, sessionId) => {
      const error = refusal({ sessionId });
      expect(error).toEqual(
        new TypeError(SessionMessages.invalidArgument('sessionId', 'a session id', sessionId)),
      );
      expect(error?.message).toMatch(/^Argument "sessionId" must be a session id; got /);
    });

    it.each([
      ['31 bytes', EXAMPLE.sessionKey.subarray(0, 31)],
      ['33 bytes', Buffer.concat([EXAMPLE.sessionKey, Buffer.from([32])])],
      ['empty', Buffer.alloc(0)],
      ['a Uint8Array', new Uint8Array(EXAMPLE.sessionKey)],
      ['its hex string', EXAMPLE.sessionKey.toString('hex')],
      ['its base64 string', EXAMPLE.sessionKey.toString('base64')],
      ['missing', undefined],
    ])('refuses a session key that is %s, naming sessionKey', (_case, sessionKey) => {
      const error = refusal({ sessionKey });
      expect(error).toEqual(
        new TypeError(
          SessionMessages.invalidArgument('sessionKey', 'a 32-byte Buffer', sessionKey),
        ),
      );
      expect(error?.message).toMatch(/^Argument "sessionKey" must be a 32-byte Buffer; got /);
    });

    it("never puts the key's bytes in the error, in any form the key was passed", () => {
      const key = randomBytes(32);
      const wrong: [unknown, Buffer][] = [
        [key.subarray(0, 31), key.subarray(0, 31)],
        [Buffer.concat([key, key]), key],
        [new Uint8Array(key), key],
        [key.toString('hex'), key],
        [key.toString('base64'), key],
        [key.toString('base64url'), key],
      ];
      for (const [sessionKey, bytes] of wrong) {
        const message = refusal({ sessionKey })?.message;
        expect(message).toContain('"sessionKey"');
        for (const encoding of [...keyEncodings(bytes), Array.from(bytes).join(',')]) {
          expect(message).not.toContain(encoding);
        }
      }
      // Nor when the key lands in another argument.
      for (const change of [
        { sessionId: `${key.toString('hex')}\n` },
        { nonce: key.toString('latin1') },
        { nonce: key.toString('hex').repeat(3) },
      ]) {
        const message = refusal(change)?.message;
        for (const encoding of keyEncodings(key)) expect(message).not.toContain(encoding);
      }
    });

    it.each([
      ['15 characters', 'n'.repeat(15)],
      ['129 characters', 'n'.repeat(129)],
      ['empty', ''],
      ['with a line break', `${'n'.repeat(16)}\n`],
      ['not ASCII', 'ñ'.repeat(16)],
      ['a number', 1234567890123456],
    ])('refuses a nonce of %s, naming nonce', (_case, nonce) => {
      expect(refusal({ nonce })).toEqual(
        new TypeError(
          SessionMessages.invalidArgument('nonce', '16 to 128 printable ASCII characters', nonce),
        ),
      );
    });

    it.each([
      ['negative', -1],
      ['a fraction', 1767225600.5],
      ['NaN', Number.NaN],
      ['infinite', Number.POSITIVE_INFINITY],
      ['beyond 2^53', 2 ** 53],
      ['beyond 15 digits', 10 ** 15],
      ['a string', '1767225600'],
    ])('refuses a created time that is %s, naming created', (_case, created) => {
      expect(refusal({ created })).toEqual(
        new TypeError(
          SessionMessages.invalidArgument('created', 'whole seconds since the epoch', created),
        ),
      );
    });

    it('accepts the bounds: nonces of 16 and 128 characters, created from 0 to 15 digits', () => {
      for (const change of [
        { nonce: 'n'.repeat(16) },
        { nonce: '~'.repeat(128) },
        { nonce: ' !"#$%&()*+,-./:;<=>?@[\\]^_`{|}' },
        { created: 0 },
        // The largest Structured Fields integer.
        { created: 999_999_999_999_999 },
        { sessionId: 'a"b\\c' },
      ]) {
        expect(refusal(change)).toBeUndefined();
      }
    });

    it('checks the path first, then the session', () => {
      expect(refusal({ path: 'x', sessionKey: undefined })).toEqual(
        new TypeError(
          `The call cannot be signed: "x" is not a gRPC method path such as "/package.Service/Method"`,
        ),
      );
    });
  });
});
