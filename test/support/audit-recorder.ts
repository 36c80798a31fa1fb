import type { MeshAuditEvent, MonitoringAdapter } from '../../lib/index.js';

/** A monitoring adapter that keeps every event, for assertions. */
export class AuditRecorder implements MonitoringAdapter {
  readonly events: MeshAuditEvent[] = [];

  async logEvent(event: MeshAuditEvent): Promise<void> {
    this.events.push(event);
  }

  actions(): (string | undefined)[] {
    return this.events.map((event) => event.details.action);
  }
}

/** Every encoding in which a key could leak. */
export function keyEncodings(key: Buffer): string[] {
  return [
    key.toString('hex'),
    key.toString('base64'),
    key.toString('base64url'),
    key.toString('latin1'),
  ];
}
