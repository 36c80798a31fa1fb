import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Module } from '@nestjs/common';
import {
  MeshClient,
  MeshClientModule,
  MeshHandshakeError,
  MeshRequestError,
  SessionManager,
  type MeshClientModuleOptions,
} from '../../lib/index.js';
import { keyEncodings } from '../support/audit-recorder.js';
import { teardownStoreFactories, withEveryStore } from '../support/store-factories.js';
import {
  CapturingLogger,
  keys,
  listen,
  platforms,
  startGreeter,
  type RunningApp,
} from './handshake-fixtures.js';

/** Every HTTP exchange the client makes, as seen on the wire. */
interface Exchange {
  method: string;
  url: string;
  requestHeaders: Record<string, string>;
  requestBody: string;
  status: number;
  responseHeaders: Record<string, string>;
  responseBody: string;
}

function recordingFetch(exchanges: Exchange[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const copy = response.clone();
    const body = init?.body;
    exchanges.push({
      method: init?.method ?? 'GET',
      url: String(input),
      requestHeaders: Object.fromEntries(new Headers(init?.headers).entries()),
      requestBody:
        body === undefined || body === null
          ? ''
          : typeof body === 'string'
            ? body
            : Buffer.from(body as Uint8Array).toString('utf8'),
      status: response.status,
      responseHeaders: Object.fromEntries(response.headers.entries()),
      responseBody: await copy.text(),
    });
    return response;
  };
}

function clientOptions(url: string, overrides: Partial<MeshClientModuleOptions> = {}) {
  return {
    serviceId: 'caller',
    privateKey: keys.caller.privateKey,
    services: { greeter: { url, publicKey: keys.greeter.publicKey } },
    timeout: 5_000,
    ...overrides,
  } satisfies MeshClientModuleOptions;
}

/** Every platform against every store (memory, Redis, Redis Cluster). */
const combos = withEveryStore(platforms);

// The Redis servers start once for the whole file; every block gets its own empty store.
afterAll(teardownStoreFactories);

describe.each(combos)('MeshClient against a greeter on $label', ({ platform, factory }) => {
  let greeter: RunningApp;
  let manager: SessionManager;

  beforeAll(async () => {
    greeter = await startGreeter(platform, { store: await factory.create() });
    manager = greeter.app.get(SessionManager);
  });

  afterAll(async () => {
    await greeter.close();
  });

  it('handshakes and calls; both sides hold the same key, which appears nowhere', async () => {
    const exchanges: Exchange[] = [];
    const callerLogs = new CapturingLogger();
    @Module({
      imports: [
        MeshClientModule.forRoot(clientOptions(greeter.url, { fetch: recordingFetch(exchanges) })),
      ],
    })
    class CallerModule {}
    const caller = await listen({ imports: [CallerModule] }, platform, callerLogs);
    const client = caller.app.get(MeshClient);
    const connection = client.connect('greeter');
    try {
      const reply = await connection.call('greet', { name: 'World' });
      expect(reply).toEqual({ message: 'Hello, World', serviceId: 'caller' });

      const sessionId = connection.sessionId as string;
      const [session] = await manager.getSessionsByServiceId('caller');
      expect(session.id).toBe(sessionId);
      expect(session.metadata).toEqual({
        peerAddress: expect.stringMatching(/127\.0\.0\.1/),
        clientVersion: expect.stringMatching(/^nestjs-mesh-session\//),
        handshakeVersion: 1,
      });

      // The client signed the call with the key the server holds: recompute its HMAC.
      const call = exchanges.find((e) => e.url.endsWith('/greet')) as Exchange;
      const input = call.requestHeaders['signature-input'];
      const params = input.slice(input.indexOf('='));
      const base = [
        `"@method": POST`,
        `"@target-uri": ${greeter.url}/greet`,
        `"content-digest": ${call.requestHeaders['content-digest']}`,
        `"@signature-params": ${params.slice(1)}`,
      ].join('\n');
      const expected = createHmac('sha256', session.sessionKey).update(base).digest('base64');
      expect(call.requestHeaders.signature).toBe(`mesh=:${expected}:`);

      // And the key is in no response, request, log line or audit event, in any encoding.
      const whoami = await connection.request({ path: '/whoami' });
      expect(whoami.json()).toMatchObject({ id: sessionId, serviceId: 'caller' });
      const haystack = [
        ...exchanges.map((e) => JSON.stringify(e)),
        ...greeter.logger.lines,
        ...callerLogs.lines,
        ...greeter.audit.events.map((e) => JSON.stringify(e)),
      ].join('\n');
      expect(exchanges.length).toBe(3);
      expect(greeter.audit.actions()).toContain('session_created');
      for (const encoding of keyEncodings(session.sessionKey)) {
        expect(haystack).not.toContain(encoding);
      }
    } finally {
      await caller.close();
    }
    // Shutdown ended the session on the server.
    expect(await manager.getSessionsByServiceId('caller')).toEqual([]);
  });

  it('makes exactly one handshake for ten concurrent first calls', async () => {
    const exchanges: Exchange[] = [];
    const client = new MeshClient(clientOptions(greeter.url, { fetch: recordingFetch(exchanges) }));
    const connection = client.connect('greeter');
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => connection.call('greet', { name: `n${i}` })),
    );
    expect(replies.map((r) => (r as { message: string }).message)).toEqual(
      Array.from({ length: 10 }, (_, i) => `Hello, n${i}`),
    );
    expect(exchanges.filter((e) => e.url.endsWith('/mesh/handshake')).length).toBe(1);
    expect(await client.disconnect('greeter')).toBe(true);
  });

  it('re-handshakes transparently after the server invalidates the session', async () => {
    const exchanges: Exchange[] = [];
    const client = new MeshClient(clientOptions(greeter.url, { fetch: recordingFetch(exchanges) }));
    const connection = client.connect('greeter');
    await connection.call('greet', { name: 'first' });
    const firstId = connection.sessionId as string;
    expect(await manager.invalidateSession(firstId)).toBe(true);

    await expect(connection.call('greet', { name: 'again' })).resolves.toEqual({
      message: 'Hello, again',
      serviceId: 'caller',
    });
    expect(connection.sessionId).not.toBe(firstId);
    expect(exchanges.map((e) => `${e.method} ${new URL(e.url).pathname} ${e.status}`)).toEqual([
      'POST /mesh/handshake 201',
      'POST /greet 200',
      'POST /greet 401',
      'POST /mesh/handshake 201',
      'POST /greet 200',
    ]);
    await client.disconnectAll();
  });

  it('does not retry a 401 that is not about an unknown session', async () => {
    const client = new MeshClient(clientOptions(greeter.url));
    const connection = client.connect('greeter');
    await connection.connect();
    await manager.updateSessionMetadata(connection.sessionId as string, { revoked: true });
    const error = await connection.call('greet', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeshRequestError);
    expect(error).toMatchObject({ status: 401, reason: 'http', method: 'POST', path: '/greet' });
    expect((error as MeshRequestError).body).toMatchObject({ message: 'Session has been revoked' });
  });

  it('disconnect() ends the session on the server', async () => {
    const client = new MeshClient(clientOptions(greeter.url));
    const connection = client.connect('greeter');
    await connection.connect();
    const id = connection.sessionId as string;
    expect(await manager.getSession(id)).toBeDefined();
    expect(await client.disconnect('greeter')).toBe(true);
    expect(await manager.getSession(id)).toBeUndefined();
    expect(connection.sessionId).toBeUndefined();
    expect(await client.disconnect('greeter')).toBe(false);
  });

  it('rejects a server whose reply does not verify against the pinned key', async () => {
    const client = new MeshClient({
      ...clientOptions(greeter.url),
      services: { greeter: { url: greeter.url, publicKey: keys.stranger.publicKey } },
    });
    const error = await client
      .connect('greeter')
      .call('greet', {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeshHandshakeError);
    expect(error).toMatchObject({ reason: 'invalid_reply', status: 201, serviceId: 'greeter' });
    expect((error as Error).message).toMatch(/signature does not verify/);
  });

  it('rejects a reply tampered in transit', async () => {
    const tamper: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).endsWith('/mesh/handshake')) return response;
      const reply = (await response.json()) as { expiresAt: number };
      reply.expiresAt += 1;
      return new Response(JSON.stringify(reply), { status: 201 });
    };
    const client = new MeshClient(clientOptions(greeter.url, { fetch: tamper }));
    await expect(client.connect('greeter').connect()).rejects.toMatchObject({
      name: 'MeshHandshakeError',
      reason: 'invalid_reply',
    });
  });

  it('raises typed errors with the status for refused handshakes and failed calls', async () => {
    const stranger = new MeshClient({
      ...clientOptions(greeter.url),
      serviceId: 'stranger',
      privateKey: keys.stranger.privateKey,
    });
    await expect(stranger.connect('greeter').call('greet', {})).rejects.toMatchObject({
      name: 'MeshHandshakeError',
      reason: 'rejected',
      status: 401,
    });

    const client = new MeshClient(clientOptions(greeter.url));
    const error = await client
      .connect('greeter')
      .request({ method: 'GET', path: '/nowhere' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeshRequestError);
    expect(error).toMatchObject({ status: 404, reason: 'http', path: '/nowhere' });
    await client.disconnectAll();
  });

  it('times out with a typed error, on the handshake and on a call', async () => {
    // A server that accepts connections and never answers.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const client = new MeshClient(clientOptions(`http://127.0.0.1:${port}`, { timeout: 100 }));
      await expect(client.connect('greeter').call('greet', {})).rejects.toMatchObject({
        name: 'MeshHandshakeError',
        reason: 'timeout',
        status: undefined,
      });

      // Handshake with the greeter, then calls that never get an answer.
      const slowCalls: typeof fetch = (input, init) =>
        String(input).endsWith('/mesh/handshake')
          ? fetch(input, init)
          : fetch(`http://127.0.0.1:${port}/greet`, init);
      const slow = new MeshClient(clientOptions(greeter.url, { fetch: slowCalls, timeout: 100 }));
      const error = await slow
        .connect('greeter')
        .call('greet', {})
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MeshRequestError);
      expect(error).toMatchObject({ reason: 'timeout', status: undefined, path: '/greet' });
      expect((error as Error).message).toBe(
        'POST /greet on greeter failed: no answer within 100 ms',
      );
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('sends any request with request(): method, path with query, headers and body', async () => {
    const client = new MeshClient(clientOptions(greeter.url));
    const echo = await client.connect('greeter').request({
      method: 'post',
      path: '/echo?x=1&y=two',
      headers: { 'X-Trace': 'abc' },
      body: { nested: { list: [1, 2, 3] } },
    });
    expect(echo.status).toBe(200);
    expect(echo.json()).toEqual({ nested: { list: [1, 2, 3] } });
    await client.disconnectAll();
  });
});

describe('MeshClient outside a server', () => {
  it('refuses an unknown service, naming it', () => {
    const client = new MeshClient(clientOptions('http://127.0.0.1:9'));
    expect(() => client.connect('nobody')).toThrow(/serviceId.*configured services \(greeter\)/);
  });

  it('reports an unreachable service as a network MeshHandshakeError', async () => {
    const client = new MeshClient(clientOptions('http://127.0.0.1:9'));
    await expect(client.connect('greeter').call('greet', {})).rejects.toMatchObject({
      name: 'MeshHandshakeError',
      reason: 'network',
      status: undefined,
    });
  });
});
