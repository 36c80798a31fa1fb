import { signGrpcCall } from '../../lib/index.js';

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
  it('gives the worked example of the gRPC page', () => {
    expect(signGrpcCall(EXAMPLE)).toEqual({
      'content-digest': 'sha-256=:SIVVIOnOr6ctqdiHmfUqUD/yqfVXvpHLjTxPSuLsqs0=:',
      'signature-input':
        'mesh=("@path" "content-digest");created=1767225600;nonce="n8Xk2QeZ7rVb1sLmPq4TcA";keyid="3b241101-e2bb-4255-8caf-4136c566a962";alg="hmac-sha256"',
      signature: 'mesh=:M5xHy5eFcMdhCNSDL2M82OXtnjdVOuolnP0qr3IX3Uo=:',
    });
  });

  it('signs the empty message with the digest of zero bytes', () => {
    expect(signGrpcCall({ ...EXAMPLE, message: new Uint8Array(0) })['content-digest']).toBe(
      'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:',
    );
  });

  it.each(['greeter.v1.Greeter/Greet', '/greeter.v1.Greeter', '/a/b\n', '/a b/c', ''])(
    'refuses the method path %j, naming it',
    (path) => {
      expect(() => signGrpcCall({ ...EXAMPLE, path })).toThrow(
        new TypeError(
          `The call cannot be signed: ${JSON.stringify(path)} is not a gRPC method path such as "/package.Service/Method"`,
        ),
      );
    },
  );
});
