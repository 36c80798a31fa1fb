import { SessionMessages } from '../core/session.messages.js';

/**
 * A request through `MeshConnection.request`.
 *
 * @example
 * ```ts
 * await greeter.request({ method: 'POST', path: '/orders?dryRun=1', body: { sku: 'a1' } });
 * ```
 */
export interface MeshRequestInit {
  /**
   * HTTP method.
   *
   * @default 'GET'
   */
  method?: string;
  /** Path below the service URL, with its query string if any: `/orders?limit=10`. */
  path: string;
  /** Extra headers. The signature headers are added. */
  headers?: Record<string, string>;
  /**
   * The body: bytes and strings are sent as they are; anything else as JSON (with
   * `Content-Type: application/json` unless set).
   */
  body?: unknown;
}

/**
 * A request resolved once for every attempt: a retry after a new handshake signs these very
 * bytes again.
 */
export interface PreparedRequest {
  /** The method, upper-case. */
  readonly method: string;
  /** The path, with a leading slash. */
  readonly path: string;
  readonly url: URL;
  /** Header names lower-case, so that the caller's cannot shadow the signature's. */
  readonly headers: Record<string, string>;
  readonly body: Buffer | undefined;
}

/**
 * Resolves the URL and encodes the body of a request.
 *
 * @param serviceUrl the service's base URL, without a trailing slash
 * @param init what the caller asked for
 * @returns the request to sign and send
 * @throws {TypeError} when `init.path` is missing, or a GET or HEAD has a body
 * @example
 * ```ts
 * prepareRequest('http://greeter:3000', { path: 'greet', method: 'post', body: {} });
 * // { method: 'POST', path: '/greet', body: <Buffer 7b 7d>, ... }
 * ```
 */
export function prepareRequest(serviceUrl: string, init: MeshRequestInit): PreparedRequest {
  if (init === null || typeof init !== 'object' || typeof init.path !== 'string') {
    throw new TypeError(
      SessionMessages.invalidArgument('init.path', 'a path such as "/orders"', init?.path),
    );
  }
  const method = (init.method ?? 'GET').toUpperCase();
  const path = init.path.startsWith('/') ? init.path : `/${init.path}`;
  const url = new URL(serviceUrl + path);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    headers[name.toLowerCase()] = value;
  }
  if ((method === 'GET' || method === 'HEAD') && init.body !== undefined && init.body !== null) {
    throw new TypeError(
      SessionMessages.invalidArgument('init.body', `absent for ${method}`, init.body),
    );
  }
  const body = encodeBody(init.body, headers);
  return { method, path, url, headers, body };
}

/** The body's bytes; a JSON body gets its content type unless the caller set one. */
function encodeBody(body: unknown, headers: Record<string, string>): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body);
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  headers['content-type'] ??= 'application/json';
  return json;
}
