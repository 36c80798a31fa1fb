import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  generateIdentityKeyPair,
  HandshakeError,
  MeshClient,
  MeshSessionMessages,
  signRequest,
} from '../../lib/index.js';
import { runCli } from '../../lib/cli/keygen.js';
import { readHandshakeBody } from '../../lib/handshake/handshake-body.js';
import { parseClientHello, parseServerHello } from '../../lib/handshake/handshake.protocol.js';
import { RedisSessionCipher } from '../../lib/stores/redis-session-cipher.js';

/*
 * Every text the library shows lives in MeshSessionMessages: the code paths below must produce
 * exactly what those functions say, so that tests and subclasses can compare against them.
 */

/** The reason a call throws as a HandshakeError. */
function reasonOf(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    if (error instanceof HandshakeError) return error.reason;
    throw error;
  }
  throw new Error('no HandshakeError');
}

describe('MeshSessionMessages is the source of every text', () => {
  it('gives the handshake parser its reasons', () => {
    expect(reasonOf(() => parseClientHello(null))).toBe(
      MeshSessionMessages.handshakeNotObject('client hello'),
    );
    expect(reasonOf(() => parseClientHello({ version: 1 }))).toMatch(
      new RegExp(`^${MeshSessionMessages.handshakeMissingField('client hello', '')}`),
    );
    expect(reasonOf(() => parseServerHello({ extra: 1 }))).toBe(
      MeshSessionMessages.handshakeUnexpectedField('server hello'),
    );
    const base = {
      version: 1,
      clientId: 'caller',
      serverId: 'greeter',
      ephemeralKey: randomBytes(32).toString('base64url'),
      nonce: randomBytes(32).toString('base64url'),
      timestamp: Date.now(),
      signature: randomBytes(64).toString('base64url'),
    };
    expect(reasonOf(() => parseClientHello({ ...base, version: 2 }))).toBe(
      MeshSessionMessages.handshakeVersion(),
    );
    expect(reasonOf(() => parseClientHello({ ...base, clientId: '' }))).toBe(
      MeshSessionMessages.handshakeServiceIdField('clientId', 255),
    );
    expect(reasonOf(() => parseClientHello({ ...base, nonce: 'AAAA' }))).toBe(
      MeshSessionMessages.handshakeBase64Field('nonce', 32),
    );
    expect(reasonOf(() => parseClientHello({ ...base, timestamp: -1 }))).toBe(
      MeshSessionMessages.handshakeTimeField('timestamp'),
    );
    expect(reasonOf(() => parseClientHello({ ...base, clientVersion: '\u0000' }))).toBe(
      MeshSessionMessages.handshakeClientVersion(64),
    );
  });

  it('gives the handshake body reader its reasons', async () => {
    const tooLarge = await readHandshakeBody({ headers: { 'content-length': '5000' } }, 4096);
    expect(tooLarge).toEqual(new HandshakeError(MeshSessionMessages.handshakeBodyTooLarge(4096)));
    expect((tooLarge as HandshakeError).reason).toBe('body larger than 4096 bytes');
    const none = await readHandshakeBody({ headers: {} });
    expect((none as HandshakeError).reason).toBe(MeshSessionMessages.handshakeNoBody());
  });

  it('gives signRequest and the Redis cipher their errors', () => {
    expect(() =>
      signRequest({
        method: 'GET\nX',
        url: 'http://a/x',
        sessionId: '00000000-0000-4000-8000-000000000000',
        sessionKey: randomBytes(32),
      }),
    ).toThrow(MeshSessionMessages.requestUnsignable());
    const key = randomBytes(32);
    expect(() => new RedisSessionCipher([key, Buffer.from(key)])).toThrow(
      MeshSessionMessages.cipherDuplicateKey(),
    );
    const sealed = new RedisSessionCipher([key]).encrypt(Buffer.from('x'), 'aad');
    const other = new RedisSessionCipher([randomBytes(32)]);
    expect(() => other.decrypt(sealed, 'aad')).toThrow(MeshSessionMessages.cipherUnknownKey());
    const cipher = new RedisSessionCipher([key]);
    expect(() => cipher.decrypt(sealed, 'other')).toThrow(MeshSessionMessages.cipherUnauthentic());
    expect(() => cipher.decrypt(`${sealed.split('.')[0]}.AAAA`, 'aad')).toThrow(
      MeshSessionMessages.cipherTruncated(),
    );
  });

  it('gives MeshClient its reasons', async () => {
    const greeter = generateIdentityKeyPair();
    const options = (url: string) => ({
      serviceId: 'caller',
      privateKey: generateIdentityKeyPair().privateKey,
      services: { greeter: { url, publicKey: greeter.publicKey } },
      timeout: 50,
    });
    await expect(
      new MeshClient(options('http://127.0.0.1:9')).connect('greeter').connect(),
    ).rejects.toThrow(
      MeshSessionMessages.clientHandshakeFailed('greeter', MeshSessionMessages.clientUnreachable()),
    );
    // A server that answers nothing, then one that answers 503 and one that answers garbage.
    let answer: 'none' | '503' | 'garbage' = 'none';
    const server = createServer((_req, res) => {
      if (answer === '503') res.writeHead(503).end();
      else if (answer === 'garbage') res.writeHead(201).end('not json');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const connect = () => new MeshClient(options(url)).connect('greeter').connect();
      await expect(connect()).rejects.toThrow(
        MeshSessionMessages.clientHandshakeFailed('greeter', MeshSessionMessages.clientTimeout(50)),
      );
      answer = '503';
      await expect(connect()).rejects.toThrow(
        MeshSessionMessages.clientHandshakeFailed(
          'greeter',
          MeshSessionMessages.clientHttpStatus(503),
        ),
      );
      answer = 'garbage';
      await expect(connect()).rejects.toThrow(
        MeshSessionMessages.clientHandshakeFailed(
          'greeter',
          MeshSessionMessages.handshakeReplyNotJson(),
        ),
      );
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    expect(MeshSessionMessages.clientHttpStatus(401, 'Session not found or expired')).toBe(
      'HTTP 401: Session not found or expired',
    );
    expect(MeshSessionMessages.clientHttpStatus(404, '')).toBe('HTTP 404');
  });

  it('gives the keygen command its errors', async () => {
    const run = async (...args: string[]) => {
      const err: string[] = [];
      await runCli(args, { out: () => undefined, err: (text) => void err.push(text) });
      return err.join('');
    };
    expect(await run('nope')).toMatch(
      new RegExp(`^${MeshSessionMessages.cliUnknownCommand('nope')}`),
    );
    expect(await run('keygen', 'svc', '--out')).toMatch(
      new RegExp(`^${MeshSessionMessages.cliOutNeedsDirectory()}`),
    );
    expect(await run('keygen', '--x')).toMatch(
      new RegExp(`^${MeshSessionMessages.cliUnknownOption('--x')}`),
    );
    expect((await run('keygen')).startsWith(MeshSessionMessages.cliServiceIdNeeded())).toBe(true);
  });
});
