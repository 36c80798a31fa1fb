/**
 * Log lines of the session cleanup job.
 */
export const CleanupMessages = {
  /** Log line of the cleanup job. */
  cleanedUp: (count: number): string => `Cleaned up ${count} expired sessions`,
  /** Log line when a cleanup run fails. */
  cleanupFailed: (reason: string): string => `Session cleanup failed: ${reason}`,
  /** Log line when the app runs the cleanup job without `ScheduleModule`. */
  noScheduler: (): string =>
    'ScheduleModule is not imported: the session cleanup job runs on a plain interval',
  /** Log line when the optional peer `@nestjs/schedule` is not installed. */
  noSchedulePackage: (): string =>
    'The optional peer dependency "@nestjs/schedule" is not installed: the session cleanup job runs on a plain interval (run `npm install @nestjs/schedule` and import ScheduleModule.forRoot() to manage it through SchedulerRegistry)',
} as const;
