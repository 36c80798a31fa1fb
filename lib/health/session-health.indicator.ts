import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { MESH_SESSION_OPTIONS } from '../mesh-session.constants.js';
import { SessionMessages } from '../core/session.messages.js';
import type { ResolvedMeshSessionOptions } from '../options/mesh-session.options.js';
import { SessionManager } from '../core/session-manager.js';
import { withTimeout } from '../core/with-timeout.js';

/**
 * Terminus health indicator for sessions. It is up with `{ activeSessions, maxActiveSessions }`
 * while `activeSessions < maxActiveSessions`, and down (so `/health` answers 503) when the
 * threshold is reached or the store cannot answer within `storeTimeout`. It never throws.
 *
 * @example
 * ```ts
 * @Get('health')
 * @HealthCheck()
 * check() {
 *   return this.health.check([() => this.sessions.isHealthy()]);
 * }
 * ```
 */
@Injectable()
export class SessionHealthIndicator {
  /**
   * @param healthIndicatorService Terminus's result builder
   * @param sessions the session manager
   * @param options the module options
   */
  constructor(
    protected readonly healthIndicatorService: HealthIndicatorService,
    protected readonly sessions: SessionManager,
    @Inject(MESH_SESSION_OPTIONS) protected readonly options: ResolvedMeshSessionOptions,
  ) {}

  /**
   * Checks the session store.
   *
   * @param key the key of this indicator in the health output
   * @default key 'sessions'
   * @returns the indicator result; never throws
   */
  async isHealthy<const Key extends string = 'sessions'>(
    key: Key = 'sessions' as Key,
  ): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.healthIndicatorService.check(key);
    const maxActiveSessions = this.options.health.maxActiveSessions;
    let activeSessions: number;
    try {
      activeSessions = await withTimeout(this.sessions.store.count(), this.options.storeTimeout);
    } catch {
      return indicator.down({ message: SessionMessages.storeUnavailable() });
    }
    return activeSessions < maxActiveSessions
      ? indicator.up({ activeSessions, maxActiveSessions })
      : indicator.down({ activeSessions, maxActiveSessions });
  }
}
