/**
 * Injection token for the resolved {@link MeshSessionModuleOptions}.
 *
 * @example
 * ```ts
 * constructor(@Inject(MESH_SESSION_OPTIONS) private readonly options: ResolvedMeshSessionOptions) {}
 * ```
 */
export const MESH_SESSION_OPTIONS = Symbol('MESH_SESSION_OPTIONS');

/**
 * Name of the interval that the cleanup job registers in `SchedulerRegistry`.
 *
 * @example
 * ```ts
 * schedulerRegistry.getInterval(MESH_SESSION_CLEANUP_JOB);
 * ```
 */
export const MESH_SESSION_CLEANUP_JOB = 'mesh-session-cleanup';

/**
 * Request header that carries the session id in session-id mode.
 *
 * @default 'x-mesh-session-id'
 */
export const DEFAULT_SESSION_HEADER = 'x-mesh-session-id';

/**
 * Metadata key written by {@link SkipSession}.
 */
export const SKIP_SESSION_KEY = 'mesh-session:skip';

/**
 * Property of the HTTP request on which {@link SessionGuard} stores the validated session.
 * `@CurrentSession()` reads it back.
 */
export const SESSION_REQUEST_PROPERTY = 'meshSession';

/**
 * Length in bytes of a session key (AES-256).
 */
export const SESSION_KEY_LENGTH = 32;

/**
 * Longest accepted service id, in characters.
 */
export const MAX_SERVICE_ID_LENGTH = 255;

/**
 * Longest delay `setTimeout` accepts (ms); a larger one fires at once. Every option that
 * becomes a timer (intervals, timeouts) is capped at it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * A route path of unreserved-character segments, such as `/mesh/handshake`: no route
 * parameters (`:id`) or wildcards for Nest to read. The handshake path, on the server
 * (`handshake.path`) and on the client (`services[id].handshakePath`), must match it.
 */
export const ROUTE_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;

/**
 * `Retry-After` (seconds) of the 503 answered when the store fails or is slow, by the guard and
 * the handshake endpoint: most store outages are short, and a 401 would make every client
 * handshake again.
 *
 * @default 1
 */
export const STORE_UNAVAILABLE_RETRY_AFTER = 1;
