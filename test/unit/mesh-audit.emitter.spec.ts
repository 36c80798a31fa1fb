import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import {
  LoggerMonitoringAdapter,
  MeshAuditEmitter,
  type MeshAuditEvent,
  type MonitoringAdapter,
} from '../../lib/index.js';
import { sessionRef } from '../../lib/core/audit-sink.js';
import { AuditRecorder } from '../support/audit-recorder.js';

describe('MeshAuditEmitter', () => {
  afterEach(() => jest.restoreAllMocks());

  it('fans an event out to every adapter in the documented event shape', () => {
    const a = new AuditRecorder();
    const b = new AuditRecorder();
    const emitter = new MeshAuditEmitter({ adapters: [a, b] }, 'self');
    emitter.emit('connection', 'peer', { action: 'session_created', success: true });
    expect(a.events).toHaveLength(1);
    expect(b.events[0]).toMatchObject({
      eventType: 'connection',
      serviceId: 'peer',
      targetServiceId: 'self',
      details: { action: 'session_created', success: true },
    });
  });

  it('is disabled without adapters or with enabled: false', () => {
    const recorder = new AuditRecorder();
    expect(new MeshAuditEmitter(undefined).enabled).toBe(false);
    const off = new MeshAuditEmitter({ enabled: false, adapters: [recorder] });
    off.emit('error', undefined, { success: false });
    expect(off.enabled).toBe(false);
    expect(recorder.events).toHaveLength(0);
  });

  it('isolates adapters that throw, reject or hang, and logs each failure once', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const recorder = new AuditRecorder();
    const throwing: MonitoringAdapter = {
      logEvent: () => {
        throw new Error('sync boom');
      },
    };
    const rejecting: MonitoringAdapter = {
      logEvent: () => Promise.reject(new Error('async boom')),
    };
    const hanging: MonitoringAdapter = { logEvent: () => new Promise<void>(() => undefined) };
    const emitter = new MeshAuditEmitter({ adapters: [throwing, rejecting, hanging, recorder] });

    const started = performance.now();
    emitter.emit('error', 'peer', { success: false, error: 'x' });
    expect(performance.now() - started).toBeLessThan(50);
    expect(recorder.events).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toHaveBeenCalledTimes(2);
    expect(errors.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringContaining('sync boom'),
      expect.stringContaining('async boom'),
    ]);
    // flush() gives up on the hanging adapter after its timeout.
    await emitter.flush(20);
  });

  it('uses "unknown" when the remote service is not known', () => {
    const recorder = new AuditRecorder();
    new MeshAuditEmitter({ adapters: [recorder] }).emit('error', undefined, { success: false });
    expect(recorder.events[0].serviceId).toBe('unknown');
  });

  it('sessionRef is a stable 16-hex-digit hash that does not contain the id', () => {
    const id = '3b241101-e2bb-4255-8caf-4136c566a962';
    expect(sessionRef(id)).toMatch(/^[0-9a-f]{16}$/);
    expect(sessionRef(id)).toBe(sessionRef(id));
    expect(id).not.toContain(sessionRef(id));
  });
});

describe('LoggerMonitoringAdapter', () => {
  afterEach(() => jest.restoreAllMocks());

  it('logs errors and rate-limit denials at warn, other events at log', async () => {
    const logger = new Logger('test');
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(logger, 'log').mockImplementation(() => undefined);
    const adapter = new LoggerMonitoringAdapter(logger);
    const event = (eventType: MeshAuditEvent['eventType']): MeshAuditEvent => ({
      id: 'e',
      timestamp: new Date(),
      eventType,
      serviceId: 'peer',
      details: { action: 'a', success: eventType === 'connection', error: 'why' },
    });
    await adapter.logEvent(event('connection'));
    await adapter.logEvent(event('rate_limit'));
    await adapter.logEvent(event('error'));
    expect(log).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(String(warn.mock.calls[0][0])).toContain('service=peer');
  });
});

describe('MeshAuditEmitter with an adapter that never resolves', () => {
  it('keeps a bounded number of deliveries for flush()', async () => {
    const hanging: MonitoringAdapter = { logEvent: () => new Promise<void>(() => undefined) };
    const emitter = new MeshAuditEmitter({ adapters: [hanging] });
    for (let i = 0; i < 5_000; i++) emitter.emit('error', undefined, { success: false });
    const pending = (emitter as unknown as { pending: Set<unknown> }).pending;
    expect(pending.size).toBe(1_000);
    await emitter.flush(10);
  });
});
