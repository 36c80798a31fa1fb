import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { MonitoringMessages } from './monitoring.messages.js';
import type { AuditSink } from '../core/audit-sink.js';
import type { MeshAuditEvent, MeshAuditEventType } from '../core/mesh-audit-event.interface.js';
import type { MonitoringAdapter, MonitoringOptions } from './monitoring-adapter.interface.js';

const MAX_TRACKED_DELIVERIES = 1_000;

/**
 * The single fan-out of audit events to the monitoring adapters. It never awaits an adapter on
 * the caller's path: an adapter that throws, rejects or hangs is isolated here, and each
 * failure is logged once.
 *
 * @example
 * ```ts
 * const audit = new MeshAuditEmitter({ adapters: [new LoggerMonitoringAdapter()] }, 'orders');
 * audit.emit('connection', 'billing', { action: 'session_created', success: true });
 * ```
 */
export class MeshAuditEmitter implements AuditSink {
  private readonly logger = new Logger('MeshSession');
  private readonly adapters: readonly MonitoringAdapter[];
  /**
   * Deliveries still running, for `flush()` at shutdown. Bounded: an adapter that never
   * resolves must not make the emitter hold every event it was ever given.
   */
  private readonly pending = new Set<Promise<void>>();

  /**
   * @param options the module's `monitoring` option
   * @param targetServiceId this service's id, copied into every event
   */
  constructor(
    options: MonitoringOptions | undefined,
    private readonly targetServiceId?: string,
  ) {
    this.adapters = options?.enabled === false ? [] : (options?.adapters ?? []);
  }

  /** Whether any adapter listens; lets callers skip building events. */
  get enabled(): boolean {
    return this.adapters.length > 0;
  }

  /**
   * Sends an event to every adapter without waiting for them.
   *
   * @param eventType kind of event
   * @param serviceId the remote service concerned, or `undefined` when unknown
   * @param details what happened; must hold no secret
   */
  emit(
    eventType: MeshAuditEventType,
    serviceId: string | undefined,
    details: MeshAuditEvent['details'],
  ): void {
    if (this.adapters.length === 0) return;
    const event: MeshAuditEvent = {
      id: randomUUID(),
      timestamp: new Date(),
      eventType,
      serviceId: serviceId ?? 'unknown',
      targetServiceId: this.targetServiceId,
      details,
    };
    for (const adapter of this.adapters) {
      let result: Promise<void>;
      try {
        result = Promise.resolve(adapter.logEvent(event));
      } catch (error) {
        this.reportFailure(adapter, error);
        continue;
      }
      const tracked: Promise<void> = result.then(
        () => {
          this.pending.delete(tracked);
        },
        (error: unknown) => {
          this.pending.delete(tracked);
          this.reportFailure(adapter, error);
        },
      );
      if (this.pending.size < MAX_TRACKED_DELIVERIES) this.pending.add(tracked);
    }
  }

  /**
   * Waits for adapters still handling events, for at most `timeoutMs`. Used at shutdown.
   *
   * @param timeoutMs the longest wait (ms)
   */
  async flush(timeoutMs: number): Promise<void> {
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.pending]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private reportFailure(adapter: MonitoringAdapter, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.logger.error(MonitoringMessages.adapterFailed(adapter.constructor.name, reason));
  }
}
