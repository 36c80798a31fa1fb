import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  generateIdentityKeyPair,
  HandshakeError,
  MeshClient,
  signRequest,
} from '../../lib/index.js';
import { runCli } from '../../lib/cli/cli.js';
import { CliMessages } from '../../lib/cli/cli.messages.js';
import { MeshClientMessages } from '../../lib/client/mesh-client.messages.js';
import { OptionMessages } from '../../lib/core/option.messages.js';
import { HandshakeMessages } from '../../lib/protocol/handshake/handshake.messages.js';
import { SigningMessages } from '../../lib/protocol/signing/signing.messages.js';
import { RedisStoreMessages } from '../../lib/stores/redis/redis-store.messages.js';
import { readHandshakeBody } from '../../lib/handshake/handshake-body.js';
import { parseClientHello, parseServerHello } from '../../lib/protocol/handshake/hello-codec.js';
import { RedisSessionCipher } from '../../lib/stores/redis/redis-session-cipher.js';

/*
 * Every text the library shows lives in a messages object beside its feature: the code paths below must produce
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

describe('the messages objects are the source of every text', () => {
  it('gives the handshake parser its reasons', () => {
    expect(reasonOf(() => parseClientHello(null))).toBe(
      HandshakeMessages.handshakeNotObject('client hello'),
    );
    expect(reasonOf(() => parseClientHello({ version: 1 }))).toMatch(
      new RegExp(`^${HandshakeMessages.handshakeMissingField('client hello', '')}`),
    );
    expect(reasonOf(() => parseServerHello({ extra: 1 }))).toBe(
      HandshakeMessages.handshakeUnexpectedField('server hello'),
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
      HandshakeMessages.handshakeVersion(),
    );
    expect(reasonOf(() => parseClientHello({ ...base, clientId: '' }))).toBe(
      HandshakeMessages.handshakeServiceIdField('clientId', 255),
    );
    expect(reasonOf(() => parseClientHello({ ...base, nonce: 'AAAA' }))).toBe(
      HandshakeMessages.handshakeBase64Field('nonce', 32),
    );
    expect(reasonOf(() => parseClientHello({ ...base, timestamp: -1 }))).toBe(
      HandshakeMessages.handshakeTimeField('timestamp'),
    );
    expect(reasonOf(() => parseClientHello({ ...base, clientVersion: '\u0000' }))).toBe(
      HandshakeMessages.handshakeClientVersion(64),
    );
  });

  it('gives the handshake body reader its reasons', async () => {
    const tooLarge = await readHandshakeBody({ headers: { 'content-length': '5000' } }, 4096);
    expect(tooLarge).toEqual(new HandshakeError(HandshakeMessages.handshakeBodyTooLarge(4096)));
    expect((tooLarge as HandshakeError).reason).toBe('body larger than 4096 bytes');
    const none = await readHandshakeBody({ headers: {} });
    expect((none as HandshakeError).reason).toBe(HandshakeMessages.handshakeNoBody());
  });

  it('gives signRequest and the Redis cipher their errors', () => {
    expect(() =>
      signRequest({
        method: 'GET\nX',
        url: 'http://a/x',
        sessionId: '00000000-0000-4000-8000-000000000000',
        sessionKey: randomBytes(32),
      }),
    ).toThrow(SigningMessages.requestUnsignable());
    const key = randomBytes(32);
    expect(() => new RedisSessionCipher([key, Buffer.from(key)])).toThrow(
      RedisStoreMessages.cipherDuplicateKey(),
    );
    const sealed = new RedisSessionCipher([key]).encrypt(Buffer.from('x'), 'aad');
    const other = new RedisSessionCipher([randomBytes(32)]);
    expect(() => other.decrypt(sealed, 'aad')).toThrow(RedisStoreMessages.cipherUnknownKey());
    const cipher = new RedisSessionCipher([key]);
    expect(() => cipher.decrypt(sealed, 'other')).toThrow(RedisStoreMessages.cipherUnauthentic());
    expect(() => cipher.decrypt(`${sealed.split('.')[0]}.AAAA`, 'aad')).toThrow(
      RedisStoreMessages.cipherTruncated(),
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
      MeshClientMessages.clientHandshakeFailed('greeter', MeshClientMessages.clientUnreachable()),
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
        MeshClientMessages.clientHandshakeFailed('greeter', MeshClientMessages.clientTimeout(50)),
      );
      answer = '503';
      await expect(connect()).rejects.toThrow(
        MeshClientMessages.clientHandshakeFailed(
          'greeter',
          MeshClientMessages.clientHttpStatus(503),
        ),
      );
      answer = 'garbage';
      await expect(connect()).rejects.toThrow(
        MeshClientMessages.clientHandshakeFailed(
          'greeter',
          HandshakeMessages.handshakeReplyNotJson(),
        ),
      );
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    expect(MeshClientMessages.clientHttpStatus(401, 'Session not found or expired')).toBe(
      'HTTP 401: Session not found or expired',
    );
    expect(MeshClientMessages.clientHttpStatus(404, '')).toBe('HTTP 404');
    // Its option errors are the shared ones, owned by MeshClientModule.
    expect(() => new MeshClient({ ...options(url), timeout: 0 })).toThrow(
      OptionMessages.invalidOption(
        'MeshClientModule',
        'timeout',
        'a positive integer number of milliseconds',
        0,
      ),
    );
    expect(() => new MeshClient({ ...options(url), timout: 5 } as never)).toThrow(
      OptionMessages.unknownOption('MeshClientModule', 'timout', 'timeout'),
    );
  });

  it('gives the CLI its errors', async () => {
    const run = async (...args: string[]) => {
      const err: string[] = [];
      await runCli(args, { out: () => undefined, err: (text) => void err.push(text) });
      return err.join('');
    };
    const firstLine = async (...args: string[]) => (await run(...args)).split('\n')[0];
    expect(await firstLine('nope')).toBe(CliMessages.cliUnknownCommand('nope', undefined));
    expect(await firstLine('kegen')).toBe(CliMessages.cliUnknownCommand('kegen', 'keygen'));
    expect(await firstLine('keygen', 'svc', '--out')).toBe(
      CliMessages.cliOptionNeedsValue('--out', 'dir'),
    );
    expect(await firstLine('keygen', 'svc', '--json=yes')).toBe(
      CliMessages.cliOptionTakesNoValue('--json'),
    );
    expect(await firstLine('keygen', '--x')).toBe(CliMessages.cliUnknownOption('--x', undefined));
    expect(await firstLine('keygen', 'svc', '--jsn')).toBe(
      CliMessages.cliUnknownOption('--jsn', '--json'),
    );
    expect(await firstLine('keygen')).toBe(CliMessages.cliServiceIdNeeded());
    expect(await firstLine('store-key', 'extra')).toBe(CliMessages.cliUnexpectedArgument('extra'));
    expect(await run('keygen')).toContain(CliMessages.cliSeeHelp('keygen'));
  });
});
