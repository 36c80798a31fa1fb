import { isIP } from 'node:net';

/**
 * The peer address the handshake rate limit keys on, from a grpc-js server call's `getPeer()`:
 * the IP without its port, as the HTTP endpoint keys on the socket's address. grpc-js reports
 * `127.0.0.1:5555` or `::1:5555`; other stacks write `ipv4:127.0.0.1:5555` or
 * `ipv6:[::1]:5555`. Anything else (`unix:/run/app.sock`, `unknown`) is kept as it is, made
 * fit for logs and keys.
 *
 * @param peer what `call.getPeer()` returned
 * @returns the address, at most 64 characters
 * @example
 * ```ts
 * grpcPeerAddress('ipv6:[::1]:5555'); // '::1'
 * grpcPeerAddress('127.0.0.1:5555'); // '127.0.0.1'
 * ```
 */
export function grpcPeerAddress(peer: unknown): string {
  const text = typeof peer === 'string' && peer !== '' ? peer : 'unknown';
  return (hostOf(text.replace(/^ipv[46]:/, '')) ?? text).replace(/[^\w.:%/-]/g, '?').slice(0, 64);
}

/** The IP of `host:port`, `[host]:port` or a bare IP; `undefined` when it is none of these. */
function hostOf(address: string): string | undefined {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed !== null) return isIP(bracketed[1]) === 0 ? undefined : bracketed[1];
  // Port first: grpc-js writes `::1:5555`, which also reads as one IPv6 address.
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  if (colon > 0 && /^\d+$/.test(address.slice(colon + 1)) && isIP(host) !== 0) return host;
  return isIP(address) === 0 ? undefined : address;
}
