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

/** Why a handshake failed on the client side. */
export type MeshHandshakeFailure =
  'rejected' | 'rate_limited' | 'unavailable' | 'http' | 'invalid_reply' | 'timeout' | 'network';

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
 * The handshake with a service failed: the server refused it (`status` 401), limited it (429),
 * could not serve it (503), or its reply did not verify against the pinned key.
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
   * @param status the HTTP status, when the server answered
   * @param options the underlying error, if any
   */
  constructor(
    serviceId: string,
    readonly reason: MeshHandshakeFailure,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(serviceId, message, options);
  }
}

/** Why a request failed on the client side. */
export type MeshRequestFailure = 'http' | 'invalid_response' | 'timeout' | 'network';

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
