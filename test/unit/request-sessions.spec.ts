import { randomBytes, randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
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

/** Node's request linked to its response, with the response's `locals`, as Express does. */
function expressRequest(): IncomingMessage {
  const request = new IncomingMessage(new Socket());
  const response = new ServerResponse(request);
  Object.assign(request, { res: response });
  Object.assign(response, { req: request, locals: Object.create(null) as object });
  return request;
}

/** A request object as each platform hands it to a guard, or as plain Node.js does. */
const requests: Record<'fastify' | 'express' | 'node', () => object> = {
  // Fastify wraps Node's request in `raw`.
  fastify: () => ({ id: 'req-1', raw: new IncomingMessage(new Socket()), headers: {} }),
  // Express hands Node's request itself, with its own prototype and a link to the response.
  express: expressRequest,
  // Neither: nothing on the request to hold it.
  node: () => new IncomingMessage(new Socket()),
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
    // A second record for the same request (the guard twice on a route) replaces the first.
    const again = await storedSession(randomBytes(32));
    setSessionOfRequest(request, again);
    expect(sessionOfRequest(request)).toBe(again);
  });

  it('adds nothing a listing, a JSON dump or an inspection of the request shows the key in', async () => {
    const key = randomBytes(32);
    const session = await storedSession(key);
    const request = make();
    const keysBefore = Object.keys(request);
    const jsonBefore = JSON.stringify({
      ...request,
      socket: undefined,
      client: undefined,
      res: undefined,
    });
    setSessionOfRequest(request, session);
    expect(Object.keys(request)).toEqual(keysBefore);
    expect(
      JSON.stringify({ ...request, socket: undefined, client: undefined, res: undefined }),
    ).toBe(jsonBefore);
    const dump = inspect(request, { showHidden: true, depth: 4 });
    for (const text of keyEncodings(key)) expect(dump).not.toContain(text);
  });
});

describe('on Express', () => {
  it("keeps it in the response's locals, where no listing, JSON or dump shows the key", async () => {
    const key = randomBytes(32);
    const session = await storedSession(key);
    const request = expressRequest();
    const { locals } = (request as IncomingMessage & { res: { locals: object } }).res;
    setSessionOfRequest(request, session);
    expect(Object.keys(locals)).toEqual([]);
    expect(JSON.stringify(locals)).toBe('{}');
    // res.render() copies the locals into a view's options with Object.assign.
    const viewOptions = Object.assign({}, locals);
    expect(Object.keys(viewOptions)).toEqual([]);
    expect(JSON.stringify(viewOptions)).toBe('{}');
    for (const dumped of [locals, viewOptions]) {
      const dump = inspect(dumped, { showHidden: true, depth: 6 });
      for (const text of keyEncodings(key)) expect(dump).not.toContain(text);
    }
  });

  it('falls back to a map when the response has no locals', async () => {
    const session = await storedSession(randomBytes(32));
    const request = expressRequest();
    Object.assign((request as IncomingMessage & { res: object }).res, { locals: undefined });
    setSessionOfRequest(request, session);
    expect(sessionOfRequest(request)).toBe(session);
    expect(sessionOfRequest(expressRequest())).toBeUndefined();
  });
});

it('finds no session for anything that is not an object', () => {
  for (const value of [undefined, null, 'request', 42]) {
    expect(sessionOfRequest(value)).toBeUndefined();
  }
});
