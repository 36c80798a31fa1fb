import { Logger } from '@nestjs/common';
import type { MeshAuditEvent } from '../core/mesh-audit-event.interface.js';
import type { MonitoringAdapter } from './monitoring-adapter.interface.js';

/**
 * Writes audit events through Nest's `Logger`: errors and rate-limit denials at `warn`,
 * everything else at `log`.
 *
 * @example
 * ```ts
 * MeshSessionModule.forRoot({ monitoring: { adapters: [new LoggerMonitoringAdapter()] } });
 * ```
 */
export class LoggerMonitoringAdapter implements MonitoringAdapter {
  /**
   * @param logger the logger to write to
   * @default new Logger('MeshAudit')
   */
  constructor(protected readonly logger: Logger = new Logger('MeshAudit')) {}

  async logEvent(event: MeshAuditEvent): Promise<void> {
    const { action = event.eventType, error } = event.details;
    const line = `${event.eventType} ${action} service=${event.serviceId}${error ? ` error=${error}` : ''}`;
    if (event.eventType === 'error' || event.eventType === 'rate_limit') {
      this.logger.warn(line);
    } else {
      this.logger.log(line);
    }
  }
}
