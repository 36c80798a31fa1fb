import { MAX_PEER_SERVICE_VALUES } from './mesh-telemetry.constants.js';

/**
 * Which service ids may appear as `mesh_session.peer.service`, following the
 * `peerServiceAttribute` option: the pinned ones (a fixed set), any (up to a cap), or none. The
 * attribute's cardinality stays bounded whatever the callers send.
 *
 * @example
 * ```ts
 * const peers = new PeerServices('pinned', ['caller']);
 * peers.valueOf('caller'); // 'caller'
 * peers.valueOf('someone-else'); // undefined: recorded without the attribute
 * ```
 */
export class PeerServices {
  private readonly pinned: ReadonlySet<string>;
  /** Ids seen when any id may be recorded, up to the cap. */
  private readonly seen = new Set<string>();

  /**
   * @param mode the `peerServiceAttribute` option
   * @param pinned the pinned service ids
   */
  constructor(
    private readonly mode: boolean | 'pinned',
    pinned: Iterable<string>,
  ) {
    this.pinned = new Set(pinned);
  }

  /**
   * The attribute's value for a service id.
   *
   * @param serviceId the other end's service id, when known
   * @returns the id, or `undefined` when the attribute must be left out
   */
  valueOf(serviceId: string | undefined): string | undefined {
    if (serviceId === undefined || this.mode === false) return undefined;
    if (this.pinned.has(serviceId)) return serviceId;
    if (this.mode === 'pinned') return undefined;
    if (this.seen.has(serviceId)) return serviceId;
    if (this.seen.size >= MAX_PEER_SERVICE_VALUES) return undefined;
    this.seen.add(serviceId);
    return serviceId;
  }
}
