import {
  generateSessionKey,
  RequestVerifier,
  SESSION_KEY_LENGTH,
  SessionManager,
  signRequest,
} from '../../lib/index.js';

describe('generateSessionKey', () => {
  it('returns a new 32-byte Buffer each call', () => {
    const keys = Array.from({ length: 64 }, () => generateSessionKey());
    for (const key of keys) {
      expect(Buffer.isBuffer(key)).toBe(true);
      expect(key).toHaveLength(SESSION_KEY_LENGTH);
      expect(SESSION_KEY_LENGTH).toBe(32);
    }
    expect(new Set(keys.map((key) => key.toString('hex'))).size).toBe(keys.length);
    // Random bytes, not a fixed pattern: every byte value turns up across 64 keys (2,048 bytes).
    expect(new Set(keys.flatMap((key) => [...key])).size).toBeGreaterThan(200);
  });

  it('is a key createSession takes, and that signs requests the verifier accepts', async () => {
    const sessions = new SessionManager(60_000);
    const key = generateSessionKey();
    const session = await sessions.createSession('billing', key);
    expect(session.sessionKey.equals(key)).toBe(true);

    const url = 'http://greeter.local/greet';
    const body = Buffer.from('{"name":"World"}');
    const headers = signRequest({
      method: 'POST',
      url,
      body,
      sessionId: session.id,
      sessionKey: key,
    });
    const verified = await new RequestVerifier(sessions).verify({
      method: 'POST',
      targetUri: url,
      headers: { ...headers, 'content-length': String(body.length) },
      rawBody: body,
      hasBody: true,
    });
    expect(verified.id).toBe(session.id);
  });
});
