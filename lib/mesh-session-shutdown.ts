import { Inject, Injectable, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { RateLimiter } from './core/rate-limiter.js';
import { SessionStore } from './core/session-store.js';
import { MESH_SESSION_OPTIONS } from './mesh-session.constants.js';
import { MeshAuditEmitter } from './monitoring/mesh-audit.emitter.js';
import type { ResolvedMeshSessionOptions } from './options/mesh-session.options.js';

/**
 * Closes what `MeshSessionModule` opened, after the cleanup job's final run: tells the
 * monitoring adapters, waits a little for them, then releases the rate limiter's timers and the
 * store's own connections (a store never closes a client it was given). It uses only what the
 * module injects, so a test that replaces `SessionManager` still shuts down cleanly.
 *
 * @example
 * ```ts
 * await app.close(); // runs onApplicationShutdown
 * ```
 */
@Injectable()
export class MeshSessionShutdown implements OnApplicationShutdown {
  /**
   * @param store the session store
   * @param audit the audit fan-out
   * @param options the resolved module options
   * @param rateLimiter the per-service limiter, or `null` when off
   */
  constructor(
    private readonly store: SessionStore,
    private readonly audit: MeshAuditEmitter,
    @Inject(MESH_SESSION_OPTIONS) private readonly options: ResolvedMeshSessionOptions,
    @Optional() @Inject(RateLimiter) private readonly rateLimiter: RateLimiter | null = null,
  ) {}

  /** Reports the shutdown, then closes the limiter and the store. */
  async onApplicationShutdown(): Promise<void> {
    const activeSessions = await this.store.count().catch(() => undefined);
    this.audit.emit('connection', this.options.serviceId, {
      action: 'mesh_shutdown',
      success: true,
      metadata: { activeSessions },
    });
    await this.audit.flush(this.options.storeTimeout);
    await this.rateLimiter?.close();
    await this.store.close();
  }
}
