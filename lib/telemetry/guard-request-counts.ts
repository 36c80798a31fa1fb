import type { Attributes, ObservableResult } from '@opentelemetry/api';
import type { TelemetryTransport } from '../core/session-telemetry.js';
import { GUARD_REFUSAL_REASONS, MESH_SESSION_ATTRIBUTES as A } from './mesh-telemetry.constants.js';

/** One attribute set of `mesh_session.guard.requests`, and its count since start. */
interface CountedSet {
  readonly attributes: Attributes;
  count: number;
}

/** A value per transport: `http` at 0, `grpc` at 1. */
type PerTransport<T> = readonly [T, T];

const TRANSPORTS: PerTransport<TelemetryTransport> = ['http', 'grpc'];

/**
 * The counts behind `mesh_session.guard.requests`, an observable counter: a guarded request
 * increments a number in an attribute set built at startup, and the reader collects the totals.
 * No attribute object is built and no SDK call is made on the request path.
 *
 * @example
 * ```ts
 * counts.allowed(0, undefined); // an HTTP request let through
 * counts.refused(1, 'revoked'); // a gRPC call refused
 * counter.addCallback((result) => counts.observe(result));
 * ```
 */
export class GuardRequestCounts {
  private readonly sets: CountedSet[] = [];
  private readonly allowedSets: PerTransport<CountedSet>;
  private readonly allowedByPeer = new Map<string, PerTransport<CountedSet>>();
  private readonly refusedSets = new Map<string, PerTransport<CountedSet>>();
  private readonly otherRefusal: PerTransport<CountedSet>;

  constructor() {
    this.allowedSets = this.perTransport({ [A.outcome]: 'allowed' });
    for (const reason of GUARD_REFUSAL_REASONS) {
      this.refusedSets.set(
        reason,
        this.perTransport({ [A.outcome]: 'refused', [A.refusalReason]: reason }),
      );
    }
    this.otherRefusal = this.refusedSets.get('other') as PerTransport<CountedSet>;
  }

  /**
   * Counts a request let through.
   *
   * @param transport 0 for HTTP, 1 for gRPC
   * @param peer the `mesh_session.peer.service` value, or `undefined` to leave it out
   */
  allowed(transport: 0 | 1, peer: string | undefined): void {
    if (peer === undefined) {
      this.allowedSets[transport].count++;
      return;
    }
    let sets = this.allowedByPeer.get(peer);
    if (sets === undefined) {
      sets = this.perTransport({ [A.outcome]: 'allowed', [A.peerService]: peer });
      this.allowedByPeer.set(peer, sets);
    }
    sets[transport].count++;
  }

  /**
   * Counts a refused request.
   *
   * @param transport 0 for HTTP, 1 for gRPC
   * @param reason a refusal reason; an unknown one counts as `other`
   */
  refused(transport: 0 | 1, reason: string): void {
    (this.refusedSets.get(reason) ?? this.otherRefusal)[transport].count++;
  }

  /**
   * Reports every attribute set counted so far.
   *
   * @param result the observable counter's result
   */
  observe(result: ObservableResult): void {
    for (const set of this.sets) if (set.count > 0) result.observe(set.count, set.attributes);
  }

  private perTransport(attributes: Attributes): PerTransport<CountedSet> {
    const sets = TRANSPORTS.map((transport) => ({
      attributes: { ...attributes, [A.transport]: transport },
      count: 0,
    })) as unknown as PerTransport<CountedSet>;
    this.sets.push(...sets);
    return sets;
  }
}
