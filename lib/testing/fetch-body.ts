import { TestingMessages } from './testing.messages.js';

/**
 * The bytes `fetch` will send for a request body, so that they can be signed first.
 *
 * @param body the `body` of a `RequestInit`
 * @returns the bytes, or `undefined` for no body (or an empty one)
 * @throws {TypeError} for a body read only as it is sent (a stream, a Blob, FormData)
 * @example
 * ```ts
 * fetchBodyBytes('{"name":"World"}'); // <Buffer 7b 22 ...>
 * ```
 */
export function fetchBodyBytes(body: RequestInit['body']): Buffer | undefined {
  let bytes: Buffer;
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') bytes = Buffer.from(body, 'utf8');
  else if (body instanceof URLSearchParams) bytes = Buffer.from(body.toString(), 'utf8');
  else if (body instanceof ArrayBuffer) bytes = Buffer.from(body);
  else if (ArrayBuffer.isView(body)) {
    bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  } else throw new TypeError(TestingMessages.unsignableFetchBody(body));
  // An empty body is sent as `Content-Length: 0`, which the guard treats as no body.
  return bytes.length === 0 ? undefined : bytes;
}
