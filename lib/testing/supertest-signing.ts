import type { SignedRequestHeaders } from '../protocol/signing/request-signer.js';
import { TestingMessages } from './testing.messages.js';

/**
 * What `MeshTestingPeer.sign` needs of a supertest `Test` (a superagent request). It is
 * structural, so the kit needs neither supertest nor superagent: any `request(server).post(...)`
 * fits.
 *
 * @example
 * ```ts
 * const test: SignableTest = request(app.getHttpServer()).post('/greet').send({ name: 'World' });
 * ```
 */
export interface SignableTest {
  /** The method, upper case. */
  readonly method: string;
  /** The URL; supertest completes it (the port) once its server listens. */
  readonly url: string;
  /** A request header set so far. */
  get(field: string): unknown;
  /** The request as set up so far: `data` is the body given to `send()`. */
  toJSON(): { data?: unknown };
  /** Sets how an object body is turned into bytes. */
  serialize(serializer: (body: unknown) => string): unknown;
  /** superagent emits `request` once the request is built, just before it sends it. */
  on(event: 'request', listener: (request: unknown) => void): unknown;
}

/** The node request superagent built, as the `request` listener sees it on the test. */
interface BuiltRequest {
  readonly req: {
    getHeader(name: string): unknown;
    setHeader(name: string, value: string): unknown;
  };
}

/**
 * What a request is signed over: its method, its final URL (with the `Host` it carries) and
 * the exact body bytes.
 *
 * @example
 * ```ts
 * const parts: RequestToSign = { method: 'GET', url: 'http://127.0.0.1:3000/whoami', body: undefined };
 * ```
 */
export interface RequestToSign {
  readonly method: string;
  readonly url: string;
  readonly body: Buffer | undefined;
}

const JSON_TYPE = /[/+]json($|[^-\w])/i;

/**
 * Signs a supertest request when it is sent rather than when this is called: only then are
 * its URL (supertest's port, `.query()`), `Host` header and body final. The body is turned into
 * bytes here (JSON for an object), and those exact bytes are both signed and sent.
 *
 * @param test the supertest request
 * @param sign makes the signature headers
 * @returns `test`, for chaining
 * @example
 * ```ts
 * signWhenSent(request(server).get('/whoami'), (parts) => peer.signedHeaders(parts));
 * ```
 */
export function signWhenSent<T extends SignableTest>(
  test: T,
  sign: (request: RequestToSign) => SignedRequestHeaders,
): T {
  let serialized: Buffer | undefined;
  // superagent calls this for any body but a string (a Buffer included) before it sends.
  test.serialize((body) => {
    serialized = bodyBytes(body, test.get('content-type'));
    // superagent sends a Buffer as it is.
    return serialized as unknown as string;
  });
  test.on('request', (built) => {
    const { req } = built as BuiltRequest;
    const data = test.toJSON().data;
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : serialized;
    const url = new URL(test.url);
    const host = req.getHeader('host');
    // The guard rebuilds the target URI from the Host header the request carries.
    if (typeof host === 'string' && host !== '') url.host = host;
    const headers = sign({
      method: test.method,
      url: url.href,
      body: body === undefined || body.length === 0 || test.method === 'HEAD' ? undefined : body,
    });
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined) req.setHeader(name, value);
    }
  });
  return test;
}

/** An object body as bytes: a Buffer or Uint8Array as it is, anything else as JSON. */
function bodyBytes(body: unknown, contentType: unknown): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const type = typeof contentType === 'string' ? contentType : '';
  if (type !== '' && !JSON_TYPE.test(type)) {
    throw new TypeError(TestingMessages.unsignableTestBody(type.split(';')[0]));
  }
  return Buffer.from(JSON.stringify(body), 'utf8');
}
