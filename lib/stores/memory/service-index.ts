import { sessionKeySlot, type MeshSession } from '../../core/mesh-session.js';

/** The sessions of one service, with removed ones dropped lazily. */
interface ServiceGroup {
  /** The service id string all sessions of the group share. */
  readonly serviceId: string;
  /** The group's sessions, and sessions removed since the last compaction. */
  sessions: MeshSession[];
  /** How many of `sessions` are still stored. */
  live: number;
}

/**
 * A memory store's sessions by service id. Removing a session only counts it out of its group;
 * the group drops removed sessions when it is read, or when it has grown to twice its live
 * sessions, so that a removal costs no search.
 *
 * @example
 * ```ts
 * services.add(session);
 * services.find('billing', now); // the live sessions of billing
 * services.delete(session); // once the session left the store
 * ```
 */
export class ServiceIndex {
  private readonly groups = new Map<string, ServiceGroup>();

  /**
   * Adds a stored session to its service's group.
   *
   * @param session a session just stored
   */
  add(session: MeshSession): void {
    let group = this.groups.get(session.serviceId);
    if (group === undefined) {
      group = { serviceId: session.serviceId, sessions: [], live: 0 };
      this.groups.set(session.serviceId, group);
    } else {
      // All sessions of a service share one id string; `serviceId` is read-only for callers,
      // and the store is the one place that may swap it for an equal string.
      (session as { serviceId: string }).serviceId = group.serviceId;
      if (group.sessions.length >= 2 * group.live + 16) this.compact(group);
    }
    group.sessions.push(session);
    group.live++;
  }

  /**
   * Counts a session out of its service's group, once it left the store (the group drops it
   * later).
   *
   * @param session the removed session
   */
  delete(session: MeshSession): void {
    const group = this.groups.get(session.serviceId);
    if (group !== undefined && --group.live === 0) this.groups.delete(session.serviceId);
  }

  /**
   * The sessions of a service that are live at `now`.
   *
   * @param serviceId the service id
   * @param now the current time (ms)
   */
  find(serviceId: string, now: number): MeshSession[] {
    const group = this.groups.get(serviceId);
    const live: MeshSession[] = [];
    if (group === undefined) return live;
    this.compact(group);
    for (const session of group.sessions) {
      if (session.expiresAt > now) live.push(session);
    }
    return live;
  }

  /**
   * Takes every stored session of a service, expired ones included, out of the store.
   *
   * @param serviceId the service id
   * @param remove takes one session out of the store (and so calls `delete` here)
   * @returns how many sessions were removed
   */
  deleteAll(serviceId: string, remove: (session: MeshSession) => void): number {
    const group = this.groups.get(serviceId);
    if (group === undefined) return 0;
    const removed = group.live;
    for (const session of group.sessions) {
      if (sessionKeySlot(session) !== -1) remove(session);
    }
    return removed;
  }

  /** Drops removed sessions from a service group. */
  private compact(group: ServiceGroup): void {
    if (group.sessions.length === group.live) return;
    group.sessions = group.sessions.filter((s) => sessionKeySlot(s) !== -1);
  }
}
