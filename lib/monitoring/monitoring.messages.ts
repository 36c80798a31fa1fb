/**
 * Log lines of the audit fan-out.
 */
export const MonitoringMessages = {
  /** Log line when a monitoring adapter fails. */
  adapterFailed: (adapter: string, reason: string): string =>
    `Monitoring adapter ${adapter} failed: ${reason}`,
} as const;
