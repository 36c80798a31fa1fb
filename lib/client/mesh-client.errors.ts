/**
 * Base class of the errors `MeshClient` raises. No error carries key material: neither the
 * session key nor an identity key is ever part of a message, a property or a cause.
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof MeshClientError) log.warn(`${e.serviceId}: ${e.message}`); }
 * ```
 */
export class MeshClientError extends Error {
  /**
   * @param serviceId the remote service
   * @param message what happened
   * @param options the underlying error, if any
   */
  constructor(
    readonly serviceId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Why a handshake failed on the client side. Over gRPC, UNAUTHENTICATED is `rejected`,
 * RESOURCE_EXHAUSTED `rate_limited`, UNAVAILABLE `unavailable` (the server cannot serve it, or
 * cannot be reached), DEADLINE_EXCEEDED `timeout`, and any other status `grpc`.
 */
export type MeshHandshakeFailure =
  | 'rejected'
  | 'rate_limited'
  | 'unavailable'
  | 'http'
  | 'grpc'
  | 'invalid_reply'
  | 'timeout'
  | 'network';

/**
 * What a refused handshake's HTTP status says about the refusal.
 *
 * @param status the status of the server's answer to the hello, other than 200 or 201
 * @returns `rejected` (401), `rate_limited` (429), `unavailable` (503), or `http`
 * @example
 * ```ts
 * handshakeFailureOf(429); // 'rate_limited'
 * ```
 */
export function handshakeFailureOf(status: number): MeshHandshakeFailure {
  switch (status) {
    case 401:
      return 'rejected';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    default:
      return 'http';
  }
}

/**
 * The handshake with a service failed: the server refused it (`status` 401, or gRPC `code` 16),
 * limited it (429, or 8), could not serve it (503, or 14), or its reply did not verify against
 * the pinned key.
 *
 * @example
 * ```ts
 * try { await client.connect('greeter').call('greet', {}); } catch (e) {
 *   if (e instanceof MeshHandshakeError && e.reason === 'invalid_reply') alert();
 * }
 * ```
 */
export class MeshHandshakeError extends MeshClientError {
  /**
   * @param serviceId the remote service
   * @param reason what kind of failure
   * @param message what happened
   * @param status the HTTP status, when the server answered over HTTP
   * @param options the underlying error, if any, and the gRPC status code of a handshake over
   *   gRPC
   */
  constructor(
    serviceId: string,
    readonly reason: MeshHandshakeFailure,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown; code?: number },
  ) {
    super(serviceId, message, options);
    this.code = options?.code;
  }

  /** The gRPC status code, when the handshake went over gRPC and ended with one. */
  readonly code?: number;
}

/**
 * Why a request failed on the client side: `grpc` is a gRPC call that ended with a status other
 * than OK and DEADLINE_EXCEEDED (which is `timeout`).
 */
export type MeshRequestFailure = 'http' | 'grpc' | 'invalid_response' | 'timeout' | 'network';

/**
 * A request through `MeshClient` failed: the server answered outside 2xx (`status` and `body`
 * say how), the answer was not the expected JSON, or the request timed out or could not be
 * sent.
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof MeshRequestError && e.status === 404) ... }
 * ```
 */
export class MeshRequestError extends MeshClientError {
  /**
   * @param serviceId the remote service
   * @param reason what kind of failure
   * @param message what happened
   * @param details the request, and the answer when there was one
   * @param options the underlying error, if any
   */
  constructor(
    serviceId: string,
    readonly reason: MeshRequestFailure,
    message: string,
    details: { method: string; path: string; status?: number; body?: unknown },
    options?: { cause?: unknown },
  ) {
    super(serviceId, message, options);
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.body = details.body;
  }

  /** The request method. */
  readonly method: string;
  /** The request path, below the service URL. */
  readonly path: string;
  /** The HTTP status, when the server answered. */
  readonly status?: number;
  /** The answer's body: parsed JSON, or text. */
  readonly body?: unknown;
}

/**
 * A gRPC call through `MeshClient` ended with a status other than OK: `code` and `details` are
 * the status as the server (or grpc-js, for a deadline or an unreachable server) gave it, and
 * `metadata` its trailing metadata, such as `retry-after`. `method` is the RPC method's name and
 * `path` its full path.
 *
 * @example
 * ```ts
 * catch (e) {
 *   if (e instanceof MeshGrpcCallError && e.code === 8) retryIn(Number(e.metadata['retry-after']));
 * }
 * ```
 */
export class MeshGrpcCallError extends MeshRequestError {
  /**
   * @param serviceId the remote service
   * @param reason `timeout` for DEADLINE_EXCEEDED, `grpc` otherwise
   * @param message what happened
   * @param call the method, and the status it ended with
   * @param options the underlying error
   */
  constructor(
    serviceId: string,
    reason: 'grpc' | 'timeout',
    message: string,
    call: {
      method: string;
      path: string;
      code: number;
      details: string;
      metadata: Readonly<Record<string, string>>;
    },
    options?: { cause?: unknown },
  ) {
    super(serviceId, reason, message, { method: call.method, path: call.path }, options);
    this.code = call.code;
    this.details = call.details;
    this.metadata = call.metadata;
  }

  /** The gRPC status code, such as 16 for UNAUTHENTICATED. */
  readonly code: number;
  /** The status message. */
  readonly details: string;
  /** The trailing metadata (binary values in base64). */
  readonly metadata: Readonly<Record<string, string>>;
}
