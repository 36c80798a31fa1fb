import { requestTargetUri } from '../../lib/guard/signed-parts.js';
import type { SessionGuardRequest } from '../../lib/guard/session-guard-request.js';

describe('requestTargetUri', () => {
  const request = (extra: Partial<SessionGuardRequest>): SessionGuardRequest => ({
    headers: { host: 'Greeter:8080' },
    url: '/greet?x=1',
    ...extra,
  });

  it('takes the scheme from the socket when no proxy forwards one', () => {
    // The platform's getter is not read: it could only agree with the socket here.
    const tls = request({ socket: { encrypted: true } });
    Object.defineProperty(tls, 'protocol', {
      get: () => {
        throw new Error('protocol read');
      },
    });
    expect(requestTargetUri(tls)).toBe('https://greeter:8080/greet?x=1');
    expect(requestTargetUri(request({ socket: {} }))).toBe('http://greeter:8080/greet?x=1');
  });

  it('asks the platform when a proxy forwards a scheme', () => {
    expect(
      requestTargetUri({
        ...request({ socket: {}, protocol: 'https' }),
        headers: { host: 'greeter', 'x-forwarded-proto': 'https' },
      }),
    ).toBe('https://greeter/greet?x=1');
  });

  it('asks the platform without a socket, and defaults to http', () => {
    expect(requestTargetUri(request({ protocol: 'https' }))).toBe('https://greeter:8080/greet?x=1');
    expect(requestTargetUri(request({}))).toBe('http://greeter:8080/greet?x=1');
  });

  it('prefers originalUrl, and gives nothing without a host', () => {
    expect(requestTargetUri(request({ originalUrl: '/api/greet' }))).toBe(
      'http://greeter:8080/api/greet',
    );
    expect(requestTargetUri({ headers: {}, url: '/' })).toBeUndefined();
  });
});
