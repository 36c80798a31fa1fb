import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { MESH_SESSION_CLEANUP_JOB } from './session-cleanup.constants.js';
import { MESH_SESSION_OPTIONS } from '../mesh-session.constants.js';
import { CleanupMessages } from './cleanup.messages.js';
import type { ResolvedMeshSessionOptions } from '../options/mesh-session.options.js';
import { SessionManager } from '../core/session-manager.js';

/**
 * The scheduled cleanup job. With `ScheduleModule.forRoot()` imported, it registers an interval
 * named {@link MESH_SESSION_CLEANUP_JOB} in `SchedulerRegistry`; without it, it runs on a plain
 * unref'd interval. Runs never overlap, a failed run is logged and the next one still happens,
 * and at shutdown the job stops and one final cleanup runs.
 *
 * @example
 * ```ts
 * schedulerRegistry.getInterval(MESH_SESSION_CLEANUP_JOB); // the job's handle
 * await cleanup.run(); // one run now
 * ```
 */
@Injectable()
export class SessionCleanupService implements OnModuleInit, OnModuleDestroy {
  /** Where run results and failures go. */
  protected readonly logger = new Logger('MeshSession');
  private handle: NodeJS.Timeout | undefined;
  private current: Promise<number> | undefined;

  /**
   * @param sessions the session manager
   * @param options the module options
   * @param schedulerRegistry present when `ScheduleModule.forRoot()` is imported
   */
  constructor(
    protected readonly sessions: SessionManager,
    @Inject(MESH_SESSION_OPTIONS) protected readonly options: ResolvedMeshSessionOptions,
    @Optional() protected readonly schedulerRegistry?: SchedulerRegistry,
  ) {}

  onModuleInit(): void {
    const interval = this.options.cleanupInterval;
    if (interval === false) return;
    this.handle = setInterval(() => void this.run(), interval);
    if (this.schedulerRegistry) {
      this.schedulerRegistry.addInterval(MESH_SESSION_CLEANUP_JOB, this.handle);
    } else {
      this.handle.unref();
      this.logger.warn(CleanupMessages.noScheduler());
    }
  }

  /**
   * Runs one cleanup, unless one is already running: then it waits for that one.
   *
   * @returns how many sessions were removed (0 when the run failed)
   */
  run(): Promise<number> {
    this.current ??= this.cleanup().finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  /** Stops the job, waits for a running cleanup, then runs a final one. */
  async onModuleDestroy(): Promise<void> {
    this.stop();
    await this.current;
    await this.run();
  }

  /** Stops the job. Safe to call more than once. */
  stop(): void {
    if (this.handle === undefined) return;
    if (this.schedulerRegistry?.doesExist('interval', MESH_SESSION_CLEANUP_JOB)) {
      this.schedulerRegistry.deleteInterval(MESH_SESSION_CLEANUP_JOB);
    }
    clearInterval(this.handle);
    this.handle = undefined;
  }

  private async cleanup(): Promise<number> {
    try {
      const removed = await this.sessions.cleanupExpiredSessions();
      if (removed > 0) this.logger.log(CleanupMessages.cleanedUp(removed));
      return removed;
    } catch (error) {
      this.logger.error(
        CleanupMessages.cleanupFailed(error instanceof Error ? error.message : String(error)),
      );
      return 0;
    }
  }
}
