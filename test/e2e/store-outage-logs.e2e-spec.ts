import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import request from 'supertest';
import { MemorySessionStore, MeshSessionModule, SessionManager } from '../../lib/index.js';
import { GreeterController, listen, platforms } from './handshake-fixtures.js';
import { failTouches } from '../support/store-faults.js';

/*
 * While the store is down every guarded request gets a 503, and the log must stay readable:
 * one line when the outage starts, at most one summary per 10 s, one line when it ends,
 * whatever the request rate.
 */
describe.each(platforms)('Store outage log on $name', (platform) => {
  it('writes a bounded number of lines, however many requests are refused', async () => {
    const store = new MemorySessionStore();
    const running = await listen(
      {
        imports: [
          MeshSessionModule.forRoot({ requestSigning: false, cleanupInterval: false, store }),
        ],
        controllers: [GreeterController],
      },
      platform,
    );
    try {
      const session = await running.app
        .get(SessionManager)
        .createSession('caller', randomBytes(32));
      const whoami = () => request(running.url).get('/whoami').set('x-mesh-session-id', session.id);
      const storeLines = () => running.logger.lines.filter((line) => /Session store/.test(line));
      const restoreTouches = failTouches(store, new Error('store down'));

      // A slow trickle, then a burst 20 times larger: the log does not grow with the rate.
      for (let i = 0; i < 25; i++) expect((await whoami()).status).toBe(503);
      const afterTrickle = storeLines().length;
      const burst = await Promise.all(Array.from({ length: 500 }, () => whoami()));
      expect(burst.every((res) => res.status === 503)).toBe(true);
      expect(storeLines()).toEqual([
        expect.stringMatching(/^warn Session store failed: store down MeshSession$/),
      ]);
      expect(afterTrickle).toBe(1);

      // The store answers again: one line says so, with how many requests were refused.
      restoreTouches();
      expect((await whoami()).status).toBe(200);
      expect(storeLines()).toEqual([
        expect.stringMatching(/^warn Session store failed: store down MeshSession$/),
        expect.stringMatching(
          /^warn 524 requests refused in the last 10 s: Session store failed: store down MeshSession$/,
        ),
        expect.stringMatching(
          /^log Session store answers again \(525 requests were refused while it failed\) MeshSession$/,
        ),
      ]);
      // Each refusal is still counted (metrics and stats carry the per-request numbers).
      expect((await running.app.get(SessionManager).getStats()).rejected).toBe(525);
    } finally {
      jest.restoreAllMocks();
      await running.close();
    }
  });
});
