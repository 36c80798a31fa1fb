import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { SessionMessages } from '../core/session.messages.js';
import { SessionStore } from '../core/session-store.js';
import { withTimeout } from '../core/with-timeout.js';
import { SESSION_HEALTH_OPTIONS, type SessionHealthOptions } from './session-health.options.js';

/**
 * Terminus health indicator for sessions, from `nestjs-mesh-session/health` (it needs the
 * optional peer `@nestjs/terminus`). It is up with `{ activeSessions, maxActiveSessions }`
 * while `activeSessions < maxActiveSessions`, and down (so `/health` answers 503) when the
 * threshold is reached or the store cannot answer within `storeTimeout`. It never throws.
 * `activeSessions` counts live sessions only (`SessionStore.count`): sessions that expired and
 * that cleanup has not removed yet do not count towards the threshold.
 *
 * List it in the providers of the module that imports `TerminusModule`; it reads the store
 * and the `health` option from `MeshSessionModule`.
 *
 * @example
 * ```ts
 * import { SessionHealthIndicator } from 'nestjs-mesh-session/health';
 *
 * @Module({ imports: [TerminusModule], controllers: [HealthController], providers: [SessionHealthIndicator] })
 * export class HealthModule {}
 *
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
   * @param store the session store, which counts the sessions
   * @param options the threshold and the store timeout
   */
  constructor(
    protected readonly healthIndicatorService: HealthIndicatorService,
    protected readonly store: SessionStore,
    @Inject(SESSION_HEALTH_OPTIONS) protected readonly options: SessionHealthOptions,
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
    const { maxActiveSessions, storeTimeout } = this.options;
    let activeSessions: number;
    try {
      activeSessions = await withTimeout(this.store.count(Date.now()), storeTimeout);
    } catch {
      return indicator.down({ message: SessionMessages.storeUnavailable() });
    }
    return activeSessions < maxActiveSessions
      ? indicator.up({ activeSessions, maxActiveSessions })
      : indicator.down({ activeSessions, maxActiveSessions });
  }
}
