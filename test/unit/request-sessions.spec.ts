import { randomBytes, randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { inspect } from 'node:util';
import { MemorySessionStore, MeshSession } from '../../lib/index.js';
import { sessionOfRequest, setSessionOfRequest } from '../../lib/guard/request-sessions.js';
import { keyEncodings } from '../support/audit-recorder.js';

async function storedSession(key: Buffer): Promise<MeshSession> {
  const now = Date.now();
  const session = new MeshSession(randomUUID(), 'svc', Buffer.from(key), now, now, now + 60_000);
  await new MemorySessionStore().create(session);
  return session;
}

/** A request object as each platform hands it to a guard. */
const requests: Record<'fastify' | 'express', () => object> = {
  // Fastify wraps Node's request in `raw`.
  fastify: () => ({ id: 'req-1', raw: new IncomingMessage(new Socket()), headers: {} }),
  // Express hands Node's request itself, with its own prototype.
  express: () => new IncomingMessage(new Socket()),
};

describe.each(Object.entries(requests))('the session a guard checked, on %s', (platform, make) => {
  it('is found for the request it was recorded for, and for no other', async () => {
    const session = await storedSession(randomBytes(32));
    const request = make();
    const other = make();
    expect(sessionOfRequest(request)).toBeUndefined();
    const symbolsBefore = Object.getOwnPropertySymbols(request).length;
    setSessionOfRequest(request, session);
    expect(sessionOfRequest(request)).toBe(session);
    expect(sessionOfRequest(other)).toBeUndefined();
    // Fastify's request object holds it under a private symbol; Express's is left untouched.
    expect(Object.getOwnPropertySymbols(request)).toHaveLength(
      symbolsBefore + (platform === 'fastify' ? 1 : 0),
    );
  });

  it('adds nothing a listing, a JSON dump or an inspection of the request shows the key in', async () => {
    const key = randomBytes(32);
    const session = await storedSession(key);
    const request = make();
    const keysBefore = Object.keys(request);
    const jsonBefore = JSON.stringify({ ...request, socket: undefined, client: undefined });
    setSessionOfRequest(request, session);
    expect(Object.keys(request)).toEqual(keysBefore);
    expect(JSON.stringify({ ...request, socket: undefined, client: undefined })).toBe(jsonBefore);
    const dump = inspect(request, { showHidden: true, depth: 4 });
    for (const text of keyEncodings(key)) expect(dump).not.toContain(text);
  });
});

it('finds no session for anything that is not an object', () => {
  for (const value of [undefined, null, 'request', 42]) {
    expect(sessionOfRequest(value)).toBeUndefined();
  }
});
