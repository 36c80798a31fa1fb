import { MeshRequestError } from './mesh-client.errors.js';
import { MeshClientMessages } from './mesh-client.messages.js';
import type { PreparedRequest } from './mesh-request.js';

/**
 * An answer to `MeshConnection.request`.
 *
 * @example
 * ```ts
 * const res = await greeter.request({ path: '/orders' });
 * const orders = res.json<Order[]>();
 * ```
 */
export interface MeshResponse {
  /** HTTP status (2xx: anything else raises {@link MeshRequestError}). */
  readonly status: number;
  /** Response headers. */
  readonly headers: Headers;
  /** The raw body. */
  readonly body: Buffer;
  /** The body as UTF-8 text. */
  text(): string;
  /**
   * The body parsed as JSON, or `undefined` when empty.
   *
   * @throws {MeshRequestError} `invalid_response` when it is not JSON
   */
  json<T = unknown>(): T;
}

/**
 * Wraps an answer's status, headers and bytes.
 *
 * @param serviceId the service that answered, for errors
 * @param request the request answered, for errors
 * @param status the HTTP status
 * @param headers the response headers
 * @param body the whole body
 * @returns the response
 * @example
 * ```ts
 * createMeshResponse('greeter', prepared, res.status, res.headers, Buffer.from(await res.arrayBuffer()));
 * ```
 */
export function createMeshResponse(
  serviceId: string,
  request: PreparedRequest,
  status: number,
  headers: Headers,
  body: Buffer,
): MeshResponse {
  return {
    status,
    headers,
    body,
    text: () => body.toString('utf8'),
    json: <T>(): T => {
      if (body.length === 0) return undefined as T;
      try {
        return JSON.parse(body.toString('utf8')) as T;
      } catch (error) {
        throw new MeshRequestError(
          serviceId,
          'invalid_response',
          MeshClientMessages.clientRequestFailed(
            serviceId,
            request.method,
            request.path,
            MeshClientMessages.clientAnswerNotJson(),
          ),
          { method: request.method, path: request.path, status, body: body.toString('utf8') },
          { cause: error },
        );
      }
    },
  };
}

/**
 * An error answer's body: parsed JSON, or the text when it is not JSON.
 *
 * @param response the answer
 * @returns the body, for `MeshRequestError.body`
 * @example
 * ```ts
 * errorBody(res); // { statusCode: 404, message: 'Not Found' }
 * ```
 */
export function errorBody(response: MeshResponse): unknown {
  const text = response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * The `message` of a Nest error body, if it has one.
 *
 * @param body an error answer's body
 * @returns the message, or `undefined`
 * @example
 * ```ts
 * messageOf({ statusCode: 401, message: 'Session not found or expired' });
 * ```
 */
export function messageOf(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const message = (body as { message?: unknown }).message;
  return typeof message === 'string' ? message : undefined;
}
