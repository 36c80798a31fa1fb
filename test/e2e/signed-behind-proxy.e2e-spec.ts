import { randomBytes } from 'node:crypto';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import request from 'supertest';
import { SessionManager, signRequest } from '../../lib/index.js';
import { startGreeter, type RunningApp } from './handshake-fixtures.js';

/** Each platform, trusting the proxy in front of it or not. */
const setups = [
  { name: 'express', trusted: false, create: () => new ExpressAdapter() },
  {
    name: 'express',
    trusted: true,
    create: () => {
      const adapter = new ExpressAdapter();
      adapter.set('trust proxy', true);
      return adapter;
    },
  },
  { name: 'fastify', trusted: false, create: () => new FastifyAdapter() },
  { name: 'fastify', trusted: true, create: () => new FastifyAdapter({ trustProxy: true }) },
] as const;

describe.each(setups)(
  'Signature mode behind a proxy on $name (proxy trusted: $trusted)',
  (setup) => {
    let running: RunningApp;
    let session: { id: string; key: Buffer };

    beforeAll(async () => {
      running = await startGreeter(setup, { requestSigning: true });
      const key = randomBytes(32);
      session = {
        id: (await running.app.get(SessionManager).createSession('caller', key)).id,
        key,
      };
    });

    afterAll(() => running.close());

    /** A GET of /whoami signed for `scheme`, sent over plain HTTP with `headers`. */
    function get(scheme: 'http' | 'https', headers: Record<string, string> = {}) {
      const url = new URL('/whoami', running.url);
      url.protocol = `${scheme}:`;
      const signed = signRequest({
        method: 'GET',
        url,
        sessionId: session.id,
        sessionKey: session.key,
      });
      return request(running.url)
        .get('/whoami')
        .set(headers)
        .set({ ...signed });
    }

    it('takes the scheme from the connection when no proxy forwards one', async () => {
      expect((await get('http')).status).toBe(200);
      expect((await get('https')).status).toBe(401);
    });

    it('takes the forwarded scheme only from a trusted proxy', async () => {
      const forwarded = { 'x-forwarded-proto': 'https' };
      expect((await get('https', forwarded)).status).toBe(setup.trusted ? 200 : 401);
      expect((await get('http', forwarded)).status).toBe(setup.trusted ? 401 : 200);
    });
  },
);
