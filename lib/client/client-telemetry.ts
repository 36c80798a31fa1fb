import { NOOP_SESSION_TELEMETRY, type SessionTelemetry } from '../core/session-telemetry.js';
import { createSessionTelemetry } from '../telemetry/create-session-telemetry.js';
import type { ResolvedTelemetryOptions } from '../telemetry/telemetry.options.js';

/**
 * `MeshClient`'s telemetry, loaded on its first handshake: `MeshClient` is built synchronously
 * (also outside Nest), and `@opentelemetry/api` is loaded with `import()`. Every call follows a
 * handshake, so by the first call the recorder is known, and calls read it without waiting.
 *
 * @example
 * ```ts
 * const telemetry = await clientTelemetry.ready(); // before the handshake
 * clientTelemetry.current.injectTraceContext(headers); // on each call
 * ```
 */
export class ClientTelemetry {
  #current: SessionTelemetry = NOOP_SESSION_TELEMETRY;
  #ready: Promise<SessionTelemetry> | undefined;

  /**
   * @param options the client's `telemetry` option
   * @param services the ids of the configured services (their keys are pinned), which
   *   `mesh_session.peer.service` may name
   */
  constructor(
    private readonly options: ResolvedTelemetryOptions,
    private readonly services: Iterable<string>,
  ) {}

  /** The recorder: the no-op one until {@link ready} has resolved. */
  get current(): SessionTelemetry {
    return this.#current;
  }

  /**
   * The recorder, chosen on the first call. A broken OpenTelemetry install leaves the no-op
   * recorder: telemetry never fails a call.
   */
  ready(): Promise<SessionTelemetry> {
    this.#ready ??= createSessionTelemetry(this.options, { pinnedServices: this.services }).then(
      (telemetry) => (this.#current = telemetry),
      () => NOOP_SESSION_TELEMETRY,
    );
    return this.#ready;
  }
}
