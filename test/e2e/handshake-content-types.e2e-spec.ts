import { createPrivateKey } from 'node:crypto';
import request from 'supertest';
import { createClientHello } from '../../lib/protocol/handshake/client-handshake.js';
import { createEphemeralKeyPair } from '../../lib/protocol/handshake/ephemeral-keys.js';
import { keys, platforms, startGreeter, type RunningApp } from './handshake-fixtures.js';

const GENERIC_401 = { statusCode: 401, message: 'Handshake failed', error: 'Unauthorized' };

/** Content types a hello may arrive with: none of them may change the answer. */
const CONTENT_TYPES = [
  'text/plain; charset=utf-8',
  'application/json',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  'multipart/form-data; boundary=mesh',
  'text/html',
  undefined,
];

function validHello(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return createClientHello({
    clientId: 'caller',
    serverId: 'greeter',
    identityKey: createPrivateKey(keys.caller.privateKey),
    ephemeral: createEphemeralKeyPair(),
    clientVersion: 'test/1',
    ...overrides,
  }).hello as unknown as Record<string, unknown>;
}

/** Twenty hellos that must all fail the same way. */
function malformedHellos(): (string | Buffer)[] {
  const good = validHello();
  return [
    '',
    'x',
    '{',
    'this is { not json',
    '[]',
    'null',
    '42',
    '"a string"',
    '{"a":1}',
    JSON.stringify({ ...good, version: 2 }),
    JSON.stringify({ ...good, extra: true }),
    JSON.stringify({ ...good, nonce: 'not base64url!' }),
    JSON.stringify({ ...good, clientId: undefined }),
    JSON.stringify({ ...good, timestamp: -1 }),
    JSON.stringify({ ...good, signature: Buffer.alloc(64).toString('base64url') }),
    JSON.stringify(validHello({ clientId: 'nobody' })),
    JSON.stringify(validHello({ serverId: 'someone-else' })),
    JSON.stringify(validHello({ identityKey: createPrivateKey(keys.stranger.privateKey) })),
    Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22]),
    `{"pad":"${'x'.repeat(200_000)}"}`,
  ];
}

async function post(
  greeter: RunningApp,
  body: string | Buffer,
  contentType: string | undefined,
): Promise<request.Response> {
  const req = request(greeter.url).post('/mesh/handshake');
  if (contentType !== undefined) req.set('content-type', contentType);
  return req.send(body);
}

describe('Every bad hello gets the same 401, whatever the platform and the Content-Type', () => {
  const answers = new Map<string, unknown[]>();

  it.each(platforms)('collects the answers on $name', async (platform) => {
    const greeter = await startGreeter(platform, {
      handshake: {
        privateKey: keys.greeter.privateKey,
        trustedServices: { caller: keys.caller.publicKey },
        rateLimit: false,
        maxFailuresPerSecond: 100_000,
      },
    });
    try {
      const seen: unknown[] = [];
      for (const body of malformedHellos()) {
        for (const contentType of CONTENT_TYPES) {
          const res = await post(greeter, body, contentType);
          seen.push({ status: res.status, body: res.body as unknown });
          expect({ contentType, status: res.status, body: res.body as unknown }).toEqual({
            contentType,
            status: 401,
            body: GENERIC_401,
          });
        }
      }
      expect(seen).toHaveLength(20 * CONTENT_TYPES.length);
      answers.set(platform.name, seen);
      // None of them opened a session, and each was audited as a failed handshake.
      const failed = greeter.audit.events.filter((e) => e.details.action === 'handshake_failed');
      expect(failed).toHaveLength(20 * CONTENT_TYPES.length);
      expect(greeter.audit.events.some((e) => e.details.action === 'session_created')).toBe(false);
    } finally {
      await greeter.close();
    }
  });

  it('gave identical answers on Express and Fastify', () => {
    expect(answers.get('express')).toHaveLength(20 * CONTENT_TYPES.length);
    expect(answers.get('fastify')).toEqual(answers.get('express'));
  });

  it.each(platforms)('accepts a valid hello with any Content-Type on $name', async (platform) => {
    const greeter = await startGreeter(platform);
    try {
      for (const contentType of CONTENT_TYPES) {
        const res = await post(greeter, JSON.stringify(validHello()), contentType);
        expect({ contentType, status: res.status }).toEqual({ contentType, status: 201 });
        expect(res.body).toMatchObject({ version: 1, sessionId: expect.any(String) });
      }
    } finally {
      await greeter.close();
    }
  });

  it.each(platforms)('leaves the body parsing of other routes alone on $name', async (platform) => {
    const greeter = await startGreeter(platform);
    try {
      const res = await request(greeter.url)
        .post('/greet')
        .set('content-type', 'application/json')
        .send('{ not json');
      expect(res.status).toBe(400);
    } finally {
      await greeter.close();
    }
  });
});
