import { sessionKeySlot, type MeshSession } from '../../core/mesh-session.js';
import {
  EXPIRES_AT_INDEX,
  LAST_ACTIVITY_INDEX,
  TIMES_STRIDE,
  type SessionSlab,
} from './session-slab.js';

/** The sessions of one service, with removed ones dropped lazily. */
interface ServiceGroup {
  /** The service id string all sessions of the group share. */
  readonly serviceId: string;
  /** The group's number: its place in `ServiceIndex.groupList` and `ServiceIndex.live`. */
  readonly number: number;
  /** The group's sessions, and sessions removed since the last compaction. */
  sessions: MeshSession[];
  /** The slab slot of each entry of `sessions`, at the same index. */
  slots: number[];
}

/** Smallest capacity of the per-slot and per-group arrays. */
const MIN_CAPACITY = 1 << 10;

/**
 * A memory store's sessions by service id. Removing a session only counts it out of its group;
 * the group drops removed sessions when it is read, or when it has grown to twice its live
 * sessions, so that a removal costs no search.
 *
 * Each slab slot in use knows its group's number, and the live counts sit in one typed array by
 * group number: a removal reads one entry beside the slot's and decrements one counter. It
 * reads neither the session nor its service id, and looks nothing up by string: a sweep that
 * removes many scattered sessions would otherwise pay a hash lookup (and its cache misses) for
 * each.
 *
 * A group keeps each session's slab slot beside it. Once compacted, every slot it holds is in
 * use by its session (a slot changes hands only after its session has left, and the session is
 * then dropped), so a lookup reads the times straight from the slab: the sessions' objects are
 * not visited, only the one returned.
 *
 * @example
 * ```ts
 * services.add(session, slot);
 * services.find('billing', now); // the live sessions of billing
 * services.delete(slot); // once the session in the slot left the store
 * ```
 */
export class ServiceIndex {
  private readonly groups = new Map<string, ServiceGroup>();
  /** Groups by number; `undefined` for a free number. */
  private readonly groupList: (ServiceGroup | undefined)[] = [];
  /** Group numbers given back, for reuse. */
  private readonly freeNumbers: number[] = [];
  /** How many sessions of each group are still stored, by group number. */
  private live = new Int32Array(MIN_CAPACITY);
  /** The group number of the session in each slab slot. */
  private groupOfSlot = new Int32Array(MIN_CAPACITY);

  /** @param slab the store's slab: the sessions' times */
  constructor(private readonly slab: SessionSlab) {}

  /**
   * Adds a stored session to its service's group.
   *
   * @param session a session just stored
   * @param slot its slab slot
   */
  add(session: MeshSession, slot: number): void {
    let group = this.groups.get(session.serviceId);
    if (group === undefined) {
      group = this.newGroup(session.serviceId);
    } else {
      // All sessions of a service share one id string; `serviceId` is read-only for callers,
      // and the store is the one place that may swap it for an equal string.
      (session as { serviceId: string }).serviceId = group.serviceId;
      if (group.sessions.length >= 2 * this.live[group.number] + 16) this.compact(group);
    }
    group.sessions.push(session);
    group.slots.push(slot);
    this.live[group.number]++;
    if (slot >= this.groupOfSlot.length) this.groupOfSlot = grown(this.groupOfSlot, slot);
    this.groupOfSlot[slot] = group.number;
  }

  /**
   * Counts the session in `slot` out of its service's group, once it left the store (the group
   * drops it later). Call it before the slot is reused.
   *
   * @param slot the removed session's slab slot
   */
  delete(slot: number): void {
    const number = this.groupOfSlot[slot];
    if (--this.live[number] > 0) return;
    const group = this.groupList[number] as ServiceGroup;
    this.groups.delete(group.serviceId);
    this.groupList[number] = undefined;
    this.freeNumbers.push(number);
  }

  /**
   * Reads the live count of the group of the session in `slot`, ahead of its removal (see
   * `SweepRemoval.preload`).
   *
   * @param slot a slab slot in use
   * @returns a number made of what was read: the caller keeps it, so that the reads are not
   *   optimised away
   */
  preload(slot: number): number {
    return this.live[this.groupOfSlot[slot]];
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
    const { sessions, slots } = group;
    const times = this.slab.times;
    for (let i = 0; i < slots.length; i++) {
      if (times[slots[i] * TIMES_STRIDE + EXPIRES_AT_INDEX] > now) live.push(sessions[i]);
    }
    return live;
  }

  /**
   * The most recently active session of a service that is live at `now` (the first found, on
   * a tie).
   *
   * @param serviceId the service id
   * @param now the current time (ms)
   */
  latest(serviceId: string, now: number): MeshSession | undefined {
    const group = this.groups.get(serviceId);
    if (group === undefined) return undefined;
    this.compact(group);
    const slots = group.slots;
    const times = this.slab.times;
    let best = -1;
    let bestActivity = -Infinity;
    for (let i = 0; i < slots.length; i++) {
      const at = slots[i] * TIMES_STRIDE;
      const activity = times[at + LAST_ACTIVITY_INDEX];
      if (times[at + EXPIRES_AT_INDEX] > now && (best === -1 || activity > bestActivity)) {
        best = i;
        bestActivity = activity;
      }
    }
    return best === -1 ? undefined : group.sessions[best];
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
    const removed = this.live[group.number];
    for (const session of group.sessions) {
      if (sessionKeySlot(session) !== -1) remove(session);
    }
    return removed;
  }

  /** A new, empty group for a service, under a free number. */
  private newGroup(serviceId: string): ServiceGroup {
    const number = this.freeNumbers.pop() ?? this.groupList.length;
    if (number >= this.live.length) this.live = grown(this.live, number);
    const group: ServiceGroup = { serviceId, number, sessions: [], slots: [] };
    this.groupList[number] = group;
    this.groups.set(serviceId, group);
    return group;
  }

  /** Drops removed sessions (and their slots) from a service group. */
  private compact(group: ServiceGroup): void {
    if (group.sessions.length === this.live[group.number]) return;
    const sessions: MeshSession[] = [];
    const slots: number[] = [];
    for (let i = 0; i < group.sessions.length; i++) {
      const session = group.sessions[i];
      // A session that left the store has given up its slot (-1).
      if (sessionKeySlot(session) === group.slots[i]) {
        sessions.push(session);
        slots.push(group.slots[i]);
      }
    }
    group.sessions = sessions;
    group.slots = slots;
  }
}

/** A copy of `array`, doubled until `index` fits. */
function grown(array: Int32Array<ArrayBuffer>, index: number): Int32Array<ArrayBuffer> {
  let length = array.length * 2;
  while (length <= index) length *= 2;
  const copy = new Int32Array(length);
  copy.set(array);
  return copy;
}
