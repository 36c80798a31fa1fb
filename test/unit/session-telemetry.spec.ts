import { jest } from '@jest/globals';
import { BadRequestException } from '@nestjs/common';
import { metrics } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  GUARD_REFUSAL_REASONS,
  MESH_SESSION_METRICS,
  generateIdentityKeyPair,
  MemorySessionStore,
  NOOP_SESSION_TELEMETRY,
  SessionRateLimitException,
  SessionStoreUnavailableException,
  SessionUnauthorizedException,
  SessionMessages,
  SigningMessages,
  StoreTimeoutError,
} from '../../lib/index.js';
import { resolveMeshClientOptions } from '../../lib/client/mesh-client.options.js';
import { MODULE_OPTION_CHECKS } from '../../lib/options/mesh-session.options.js';
import { resolveMeshSessionOptions } from '../../lib/options/mesh-session.options.js';
import { refusalReasonOf } from '../../lib/guard/refusal-reasons.js';
import { signedCallParts } from '../../lib/guard/signed-parts.js';
import {
  SessionValidationError,
  type SessionRejectionReason,
} from '../../lib/core/session-validation.error.js';
import {
  SignatureVerificationError,
  type SignatureRejectionReason,
} from '../../lib/protocol/signing/signature-verification.error.js';
import { GuardMessages } from '../../lib/guard/guard.messages.js';
import { createSessionTelemetry } from '../../lib/telemetry/create-session-telemetry.js';
import { OtelSessionTelemetry } from '../../lib/telemetry/otel-session-telemetry.js';
import { PeerServices } from '../../lib/telemetry/peer-services.js';
import { storeErrorType } from '../../lib/telemetry/store-call-recorder.js';
import { resolveTelemetryOptions } from '../../lib/telemetry/telemetry.options.js';
import { TestTelemetry } from '../support/telemetry.js';

describe('NOOP_SESSION_TELEMETRY', () => {
  it('hands store calls back as they are and runs callbacks as they are', async () => {
    const t = NOOP_SESSION_TELEMETRY;
    const pending = Promise.resolve(42);
    expect(t.enabled).toBe(false);
    expect(t.endStoreCall('touch', t.startStoreCall('touch'), pending)).toBe(pending);
    expect(t.startGuardCheck()).toBe(0);
    expect(
      await t.handshake(
        'server',
        'http',
        'caller',
        async () => 'hello',
        () => 'x',
      ),
    ).toBe('hello');
    expect(await t.cleanup(async () => 7)).toBe(7);
    const carrier: Record<string, string> = {};
    t.injectTraceContext(carrier);
    expect(carrier).toEqual({});
    expect(Object.isFrozen(t)).toBe(true);
  });
});

describe('createSessionTelemetry', () => {
  const options = (extra: object = {}) =>
    resolveTelemetryOptions(MODULE_OPTION_CHECKS, extra as never);

  afterEach(() => metrics.disable());

  it('is the no-op recorder when no SDK is registered and no provider is given', async () => {
    expect(await createSessionTelemetry(options(), { pinnedServices: [] })).toBe(
      NOOP_SESSION_TELEMETRY,
    );
  });

  it('is the no-op recorder when disabled, even with providers', async () => {
    const otel = new TestTelemetry();
    const telemetry = await createSessionTelemetry(options({ ...otel.options, enabled: false }), {
      pinnedServices: [],
    });
    expect(telemetry).toBe(NOOP_SESSION_TELEMETRY);
    await otel.shutdown();
  });

  it('records with a given meter provider, and with the global one an SDK registered', async () => {
    const otel = new TestTelemetry();
    const given = await createSessionTelemetry(options({ meterProvider: otel.meterProvider }), {
      pinnedServices: [],
    });
    expect(given).toBeInstanceOf(OtelSessionTelemetry);
    given.sessionCreated();
    expect(await otel.sum(MESH_SESSION_METRICS.sessionsCreated)).toBe(1);

    const global = new TestTelemetry();
    metrics.setGlobalMeterProvider(global.meterProvider);
    const fromGlobal = await createSessionTelemetry(options(), { pinnedServices: [] });
    expect(fromGlobal).toBeInstanceOf(OtelSessionTelemetry);
    fromGlobal.sessionsExpired(3);
    expect(await global.sum(MESH_SESSION_METRICS.sessionsExpired)).toBe(3);
    await otel.shutdown();
    await global.shutdown();
  });

  it('stops reading the store once closed', async () => {
    const otel = new TestTelemetry();
    const store = new MemorySessionStore();
    const telemetry = (await createSessionTelemetry(options(otel.options), {
      store,
      storeTimeout: 1_000,
      pinnedServices: [],
    })) as OtelSessionTelemetry;
    expect(await otel.points(MESH_SESSION_METRICS.sessionsActive)).toEqual([
      { attributes: { 'mesh_session.store.kind': 'memory' }, value: 0 },
    ]);
    telemetry.onModuleDestroy();
    const count = jest.spyOn(store, 'count');
    await otel.metrics();
    expect(count).not.toHaveBeenCalled();
    await otel.shutdown();
  });
});

describe('the durations of guarded requests', () => {
  const options = (extra: object = {}) =>
    resolveTelemetryOptions(MODULE_OPTION_CHECKS, extra as never);

  async function server(otel: TestTelemetry): Promise<OtelSessionTelemetry> {
    return (await createSessionTelemetry(options(otel.options), {
      store: new MemorySessionStore(),
      storeTimeout: 1_000,
      pinnedServices: [],
    })) as OtelSessionTelemetry;
  }

  /** The SDK's `mesh_session.guard.duration`, to watch its records. */
  function guardDurationOf(telemetry: OtelSessionTelemetry): { record: () => void } {
    return (telemetry as unknown as { instruments: { guardDuration: { record: () => void } } })
      .instruments.guardDuration;
  }

  /** What the guard reports for one request let through, after its `touch`. */
  function allowOne(telemetry: OtelSessionTelemetry): void {
    const started = telemetry.startGuardCheck();
    telemetry.storeCallSucceeded('touch', telemetry.startStoreCall('touch'));
    telemetry.guardAllowed('http', started, 'caller');
  }

  it('wait for the collection on a server, and every one of them is exported', async () => {
    const otel = new TestTelemetry();
    const telemetry = await server(otel);
    const record = jest.spyOn(guardDurationOf(telemetry), 'record');
    for (let i = 0; i < 3; i++) allowOne(telemetry);
    expect(record).not.toHaveBeenCalled();
    const guard = await otel.points(MESH_SESSION_METRICS.guardDuration);
    expect(guard).toEqual([{ attributes: {}, value: 3, sum: expect.any(Number) }]);
    expect(guard[0]?.sum).toBeGreaterThanOrEqual(0);
    expect(await otel.points(MESH_SESSION_METRICS.storeOperationDuration)).toContainEqual({
      attributes: { 'mesh_session.store.operation': 'touch' },
      value: 3,
      sum: expect.any(Number),
    });
    // Counted once: a second collection finds nothing new.
    expect(await otel.sum(MESH_SESSION_METRICS.guardDuration)).toBe(3);
    telemetry.close();
    await otel.shutdown();
  });

  it('reach the SDK before a collection when a batch is full, and at once after close()', async () => {
    const otel = new TestTelemetry();
    const telemetry = await server(otel);
    const record = jest.spyOn(guardDurationOf(telemetry), 'record');
    for (let i = 0; i < 511; i++) allowOne(telemetry);
    expect(record).not.toHaveBeenCalled();
    allowOne(telemetry);
    expect(record).toHaveBeenCalledTimes(512);
    allowOne(telemetry);
    telemetry.close();
    expect(record).toHaveBeenCalledTimes(513);
    allowOne(telemetry);
    expect(record).toHaveBeenCalledTimes(514);
    expect(await otel.sum(MESH_SESSION_METRICS.guardDuration)).toBe(514);
    await otel.shutdown();
  });

  it('go to the SDK at once without a server (no collection hook)', async () => {
    const otel = new TestTelemetry();
    const telemetry = (await createSessionTelemetry(options(otel.options), {
      pinnedServices: [],
    })) as OtelSessionTelemetry;
    const record = jest.spyOn(guardDurationOf(telemetry), 'record');
    allowOne(telemetry);
    expect(record).toHaveBeenCalledTimes(1);
    await otel.shutdown();
  });
});

describe('the telemetry option', () => {
  it('is refused with a clear error when a key or a value is wrong', () => {
    expect(() => resolveMeshSessionOptions({ telemetry: { enabeld: true } as never })).toThrow(
      'MeshSessionModule: unknown option "telemetry.enabeld"; did you mean "telemetry.enabled"?',
    );
    expect(() => resolveMeshSessionOptions({ telemetry: { meterProvider: {} as never } })).toThrow(
      'option "telemetry.meterProvider" must be an OpenTelemetry MeterProvider',
    );
    expect(() =>
      resolveMeshSessionOptions({ telemetry: { tracerProvider: 'x' as never } }),
    ).toThrow('option "telemetry.tracerProvider" must be an OpenTelemetry TracerProvider');
    expect(() =>
      resolveMeshSessionOptions({ telemetry: { peerServiceAttribute: 'all' as never } }),
    ).toThrow(`option "telemetry.peerServiceAttribute" must be true, false or 'pinned'`);
    expect(() => resolveMeshSessionOptions({ telemetry: { enabled: 1 as never } })).toThrow(
      'option "telemetry.enabled" must be a boolean',
    );
  });

  it('is checked the same way on MeshClient, under its own name', () => {
    const client = {
      serviceId: 'caller',
      privateKey: generateIdentityKeyPair().privateKey,
      services: {},
    };
    expect(() =>
      resolveMeshClientOptions({ ...client, telemetry: { tracerProvidr: {} } as never }),
    ).toThrow(
      'MeshClientModule: unknown option "telemetry.tracerProvidr"; did you mean "telemetry.tracerProvider"?',
    );
    expect(resolveMeshClientOptions(client).telemetry.peerServiceAttribute).toBe('pinned');
  });

  it('defaults to enabled, the global providers and pinned peers; resolves its own output', () => {
    const resolved = resolveMeshSessionOptions({});
    expect(resolved.telemetry).toEqual({
      enabled: true,
      meterProvider: undefined,
      tracerProvider: undefined,
      peerServiceAttribute: 'pinned',
    });
    const meterProvider = new MeterProvider();
    const again = resolveMeshSessionOptions(
      resolveMeshSessionOptions({ telemetry: { meterProvider, peerServiceAttribute: true } }),
    );
    expect(again.telemetry.meterProvider).toBe(meterProvider);
    expect(again.telemetry.peerServiceAttribute).toBe(true);
  });
});

describe('PeerServices', () => {
  it("'pinned' names pinned ids only", () => {
    const peers = new PeerServices('pinned', ['caller']);
    expect(peers.valueOf('caller')).toBe('caller');
    expect(peers.valueOf('invented')).toBeUndefined();
    expect(peers.valueOf(undefined)).toBeUndefined();
  });

  it('false names none, true names any id up to 100 distinct ones', () => {
    expect(new PeerServices(false, ['caller']).valueOf('caller')).toBeUndefined();
    const peers = new PeerServices(true, ['caller']);
    for (let i = 0; i < 100; i++) expect(peers.valueOf(`svc-${i}`)).toBe(`svc-${i}`);
    expect(peers.valueOf('svc-100')).toBeUndefined();
    expect(peers.valueOf('svc-7')).toBe('svc-7');
    expect(peers.valueOf('caller')).toBe('caller');
  });
});

describe('refusalReasonOf', () => {
  it('names every refusal of the guard from its cause, within the documented set', () => {
    // The guard's 401s keep what the session checks or the verifier threw as their cause.
    const invalid = (reason: SessionRejectionReason, message: string) =>
      new SessionUnauthorizedException(message, {
        cause: new SessionValidationError(reason, message),
      });
    const unsigned = (reason: SignatureRejectionReason, message: string) =>
      new SessionUnauthorizedException(message, {
        cause: new SignatureVerificationError(reason, message),
      });
    const cases: [unknown, string][] = [
      [invalid('missing', SessionMessages.missingSessionId()), 'missing'],
      [invalid('invalid', SessionMessages.invalidSessionId()), 'invalid'],
      [invalid('not_found', SessionMessages.sessionNotFound()), 'unknown_or_expired'],
      [invalid('revoked', SessionMessages.sessionRevoked()), 'revoked'],
      [new SessionRateLimitException(), 'rate_limited'],
      [new SessionStoreUnavailableException(), 'store_unavailable'],
      [
        new SessionStoreUnavailableException(undefined, { cause: new StoreTimeoutError(5) }),
        'store_timeout',
      ],
      [unsigned('signature_missing', SigningMessages.signatureMissing()), 'signature_missing'],
      [
        unsigned('signature_malformed', SigningMessages.signatureMalformed()),
        'signature_malformed',
      ],
      [
        unsigned('signature_incomplete', SigningMessages.signatureIncomplete()),
        'signature_incomplete',
      ],
      [
        unsigned('signature_algorithm', SigningMessages.signatureAlgorithm()),
        'signature_algorithm',
      ],
      [unsigned('signature_stale', SigningMessages.signatureStale()), 'signature_stale'],
      [unsigned('signature_replayed', SigningMessages.signatureReplayed()), 'signature_replayed'],
      [unsigned('digest_mismatch', SigningMessages.digestMismatch()), 'digest_mismatch'],
      [unsigned('body_unverifiable', SigningMessages.bodyUnverifiable()), 'body_unverifiable'],
      [unsigned('signature_invalid', SigningMessages.signatureInvalid()), 'signature_invalid'],
      [new BadRequestException(GuardMessages.messageUndecodable()), 'message_undecodable'],
      // A refusal without a cause (a subclass's own), even with a known message.
      [new SessionUnauthorizedException(SessionMessages.sessionRevoked()), 'other'],
      [new SessionUnauthorizedException('a subclass of its own'), 'other'],
      [new Error('not an HTTP refusal'), 'other'],
    ];
    for (const [error, reason] of cases) expect(refusalReasonOf(error)).toBe(reason);
    const named = new Set(cases.map(([, reason]) => reason));
    expect([...named].sort()).toEqual([...GUARD_REFUSAL_REASONS].sort());
  });

  it('names a signed client-streaming call signature_incomplete, as the guard refuses it', () => {
    // A client stream reaches the guard as an Observable of messages.
    const stream = { subscribe: () => undefined };
    let thrown: unknown;
    try {
      signedCallParts({ message: stream } as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SessionUnauthorizedException);
    expect((thrown as Error).message).toBe(SigningMessages.streamUnsignable());
    expect(refusalReasonOf(thrown)).toBe('signature_incomplete');
  });
});

describe('storeErrorType', () => {
  it('tells a time limit from any other failure, through causes', () => {
    expect(storeErrorType(new StoreTimeoutError(10))).toBe('timeout');
    expect(storeErrorType(new Error('Command timed out'))).toBe('timeout');
    expect(
      storeErrorType(
        new Error('Redis session store: touch failed: Command timed out', {
          cause: new Error('Command timed out'),
        }),
      ),
    ).toBe('timeout');
    expect(storeErrorType(new Error('ECONNREFUSED'))).toBe('error');
    expect(storeErrorType('a string')).toBe('error');
  });
});

describe('OtelSessionTelemetry handshakes', () => {
  it('records an outcome outside the documented set as error', async () => {
    const otel = new TestTelemetry();
    const telemetry = await createSessionTelemetry(
      resolveTelemetryOptions(MODULE_OPTION_CHECKS, otel.options),
      { pinnedServices: ['caller'] },
    );
    const fail = (outcome: string) =>
      telemetry.handshake(
        'server',
        'http',
        'caller',
        async () => {
          throw new Error('bug');
        },
        () => outcome,
      );
    await expect(fail('made-up')).rejects.toThrow('bug');
    await expect(fail('success')).rejects.toThrow('bug');
    await expect(fail('failed')).rejects.toThrow('bug');
    expect(
      await otel.sum(MESH_SESSION_METRICS.handshakes, { 'mesh_session.outcome': 'error' }),
    ).toBe(2);
    expect(
      await otel.sum(MESH_SESSION_METRICS.handshakes, {
        'mesh_session.outcome': 'failed',
        'mesh_session.peer.service': 'caller',
      }),
    ).toBe(1);
    expect(otel.spans('mesh_session.handshake')).toHaveLength(3);
    await otel.shutdown();
  });
});
