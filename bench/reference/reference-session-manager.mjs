// A reference design for the benchmarks: a plain Map of session objects, a linear scan by
// service id and a full-scan cleanup, all synchronous. It follows the same contract as our
// SessionManager (the most recently active session of a service; expiry at
// `expiresAt <= now`), so that both do the same work.
import { randomUUID } from 'node:crypto';

export class ReferenceSessionManager {
  constructor(sessionTimeout = 3_600_000) {
    this.sessionTimeout = sessionTimeout;
    this.sessions = new Map();
  }

  createSession(serviceId, sessionKey, metadata) {
    const now = Date.now();
    const session = {
      id: randomUUID(),
      serviceId,
      sessionKey,
      createdAt: now,
      lastActivity: now,
      expiresAt: now + this.sessionTimeout,
      metadata,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  getSession(id) {
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    const now = Date.now();
    if (session.expiresAt <= now) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastActivity = now;
    session.expiresAt = now + this.sessionTimeout;
    return session;
  }

  getSessionByServiceId(serviceId) {
    const now = Date.now();
    let latest;
    for (const session of this.sessions.values()) {
      if (
        session.serviceId === serviceId &&
        session.expiresAt > now &&
        (latest === undefined || session.lastActivity > latest.lastActivity)
      ) {
        latest = session;
      }
    }
    return latest;
  }

  invalidateSession(id) {
    return this.sessions.delete(id);
  }

  cleanupExpiredSessions() {
    const now = Date.now();
    let removed = 0;
    for (const [id, session] of this.sessions) {
      if (session.expiresAt <= now) {
        this.sessions.delete(id);
        removed++;
      }
    }
    return removed;
  }
}
