import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SessionManager } from '../core/session-manager.js';
import { CleanupMessages } from './cleanup.messages.js';
import { findSchedulerRegistry, type IntervalRegistry } from './scheduler-registry.js';
import {
  MESH_SESSION_CLEANUP_JOB,
  SESSION_CLEANUP_OPTIONS,
  type SessionCleanupOptions,
} from './session-cleanup.constants.js';

/**
 * The scheduled cleanup job. With `ScheduleModule.forRoot()` imported, it registers an interval
 * named {@link MESH_SESSION_CLEANUP_JOB} in `SchedulerRegistry`; without it, it runs on a plain
 * unref'd interval. Runs never overlap, a failed run is logged and the next one still happens,
 * and at shutdown the job stops and one final cleanup runs (none with `cleanupInterval: false`).
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
  /** `SchedulerRegistry`, once the job started with `ScheduleModule` imported. */
  protected schedulerRegistry: IntervalRegistry | undefined;
  private handle: NodeJS.Timeout | undefined;
  private current: Promise<number> | undefined;

  /**
   * @param sessions the session manager
   * @param options how often the job runs
   * @param moduleRef finds `SchedulerRegistry` when `@nestjs/schedule` is used
   */
  constructor(
    protected readonly sessions: SessionManager,
    @Inject(SESSION_CLEANUP_OPTIONS) protected readonly options: SessionCleanupOptions,
    protected readonly moduleRef: ModuleRef,
  ) {}

  /** Starts the job, in `SchedulerRegistry` when there is one. */
  async onModuleInit(): Promise<void> {
    const interval = this.options.cleanupInterval;
    if (interval === false) return;
    const found = await findSchedulerRegistry(this.moduleRef);
    this.handle = setInterval(() => void this.run(), interval);
    if ('registry' in found) {
      this.schedulerRegistry = found.registry;
      this.schedulerRegistry.addInterval(MESH_SESSION_CLEANUP_JOB, this.handle);
    } else {
      this.handle.unref();
      this.logger.warn(
        found.missing === 'package'
          ? CleanupMessages.noSchedulePackage()
          : CleanupMessages.noScheduler(),
      );
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

  /**
   * Stops the job, waits for a running cleanup, then runs a final one. With `cleanupInterval:
   * false` there is no job and no final run: the app cleans up when it chooses, and a test
   * that replaces `SessionManager` with a partial fake closes without calling it.
   */
  async onModuleDestroy(): Promise<void> {
    const scheduled = this.handle !== undefined;
    this.stop();
    await this.current;
    if (scheduled) await this.run();
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
