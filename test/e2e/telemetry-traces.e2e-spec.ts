import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, UseGuards, type INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import request from 'supertest';
import {
  MESH_SESSION_ATTRIBUTES as A,
  MemorySessionStore,
  MeshClient,
  MeshSessionModule,
  SessionGuard,
  SessionManager,
  signRequest,
  type MeshSessionModuleOptions,
  type SessionStore,
} from '../../lib/index.js';
import { MODULE_OPTION_CHECKS } from '../../lib/options/mesh-session.options.js';
import { createSessionTelemetry } from '../../lib/telemetry/create-session-telemetry.js';
import { resolveTelemetryOptions } from '../../lib/telemetry/telemetry.options.js';
import { keyEncodings } from '../support/audit-recorder.js';
import { storeFactories, teardownStoreFactories } from '../support/store-factories.js';
import { GREETER_PROTO_PATH, startGrpcApp, type GrpcApp } from '../support/grpc/grpc-app.js';
import { TestTelemetry, withServerSpan } from '../support/telemetry.js';
import { GreeterController, keys, platforms, startGreeter } from './handshake-fixtures.js';

/*
 * The spans of docs/observability.md: the handshake on both sides (CLIENT in MeshClient, its
 * context carried by the hello; INTERNAL on the server, under the transport's server span), the
 * store calls inside the guard as children of the server span, the cleanup run; W3C trace
 * context on MeshClient's calls, outside what the signature covers; and no key, session id or
 * signature anywhere in what is exported.
 */

const STORES = storeFactories.filter((factory) => factory.name !== 'redis-cluster');

beforeAll(() => TestTelemetry.registerContext());
afterAll(async () => {
  TestTelemetry.unregisterContext();
  await teardownStoreFactories();
});

/**
 * Starts an Express app whose every request runs in a SERVER span that continues the caller's
 * trace, as the HTTP instrumentation of an OpenTelemetry SDK does.
 */
async function listenInstrumented(
  otel: TestTelemetry,
  options: MeshSessionModuleOptions,
): Promise<{ app: INestApplication; url: string; close(): Promise<void> }> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      MeshSessionModule.forRoot({ serviceId: 'greeter', cleanupInterval: false, ...options }),
    ],
    controllers: [GreeterController],
  }).compile();
  const app = moduleRef.createNestApplication(new ExpressAdapter(), {
    rawBody: true,
    logger: false,
  });
  app.use((req: IncomingMessage, res: ServerResponse, next: () => void) =>
    withServerSpan(otel.tracerProvider, req.headers, (span) => {
      res.on('finish', () => span.end());
      next();
    }),
  );
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, close: () => app.close() };
}

/** The greeter's handshake option: its identity, and the pinned caller. */
const greeterHandshake = {
  privateKey: keys.greeter.privateKey,
  trustedServices: { caller: [keys.caller.publicKey] },
};

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan): string => span.spanContext().spanId;

function one(spans: ReadableSpan[], predicate: (span: ReadableSpan) => boolean): ReadableSpan {
  const found = spans.filter(predicate);
  expect(found).toHaveLength(1);
  return found[0];
}

@Controller()
@UseGuards(SessionGuard)
class TracedGrpcGreeter {
  /** Answers the trace context the call carried, to show that MeshClient sent one. */
  @GrpcMethod('Greeter', 'Greet')
  greet(_data: unknown, metadata: Metadata) {
    return { message: String(metadata.get('traceparent')[0] ?? 'none') };
  }
}

describe.each(STORES)('spans on the $name store', (factory) => {
  let otel: TestTelemetry;
  let store: SessionStore;

  beforeEach(async () => {
    otel = new TestTelemetry();
    store = await factory.create();
  });

  afterEach(async () => {
    await store.close();
    await otel.shutdown();
  });

  it('records the guard store call as a child of the server span, and nothing outside one', async () => {
    const running = await listenInstrumented(otel, {
      requestSigning: false,
      store,
      telemetry: otel.options,
    });
    try {
      const manager = running.app.get(SessionManager);
      const session = await manager.createSession('billing', randomBytes(32));
      await manager.getSession(session.id);
      expect(otel.spans()).toEqual([]);
      const res = await request(running.url).get('/whoami').set('x-mesh-session-id', session.id);
      expect(res.status).toBe(200);
      const server = one(otel.spans(), (s) => s.kind === SpanKind.SERVER);
      const touch = one(otel.spans(), (s) => s.name === 'mesh_session.store.touch');
      expect(touch.kind).toBe(SpanKind.INTERNAL);
      expect(parentOf(touch)).toBe(idOf(server));
      expect(touch.spanContext().traceId).toBe(server.spanContext().traceId);
      expect(touch.attributes).toEqual({
        [A.storeOperation]: 'touch',
        [A.storeKind]: store.telemetryKind,
      });
      expect(touch.status.code).toBe(SpanStatusCode.UNSET);
    } finally {
      await running.close();
    }
  });

  it('traces a handshake on both sides, joined by the context the hello carries', async () => {
    const greeter = await listenInstrumented(otel, {
      store,
      telemetry: otel.options,
      handshake: greeterHandshake,
    });
    const client = new MeshClient({
      serviceId: 'caller',
      privateKey: keys.caller.privateKey,
      services: { greeter: { url: greeter.url, publicKey: keys.greeter.publicKey } },
      telemetry: otel.options,
    });
    try {
      const tracer = otel.tracerProvider.getTracer('caller-app');
      await tracer.startActiveSpan('caller work', async (work) => {
        await client.connect('greeter').call('greet', { name: 'World' });
        work.end();
      });
      const spans = otel.spans();
      const work = one(spans, (s) => s.name === 'caller work');
      const clientHandshake = one(
        spans,
        (s) => s.name === 'mesh_session.handshake' && s.kind === SpanKind.CLIENT,
      );
      expect(parentOf(clientHandshake)).toBe(idOf(work));
      expect(clientHandshake.attributes).toEqual({
        [A.handshakeSide]: 'client',
        [A.transport]: 'http',
        [A.peerService]: 'greeter',
        [A.outcome]: 'success',
      });
      // The hello carried the client span's context: the server span continues it.
      const helloServer = one(
        spans,
        (s) => s.kind === SpanKind.SERVER && parentOf(s) === idOf(clientHandshake),
      );
      const serverHandshake = one(
        spans,
        (s) => s.name === 'mesh_session.handshake' && s.kind === SpanKind.INTERNAL,
      );
      expect(parentOf(serverHandshake)).toBe(idOf(helloServer));
      expect(serverHandshake.attributes).toEqual({
        [A.handshakeSide]: 'server',
        [A.transport]: 'http',
        [A.peerService]: 'caller',
        [A.outcome]: 'success',
      });
      for (const operation of ['claim_nonce', 'create']) {
        const call = one(spans, (s) => s.name === `mesh_session.store.${operation}`);
        expect(parentOf(call)).toBe(idOf(serverHandshake));
      }
      // The signed call carried the caller's active context; the guard's store calls are
      // children of the server span that continued it.
      const callServer = one(
        spans,
        (s) => s.kind === SpanKind.SERVER && parentOf(s) === idOf(work),
      );
      for (const operation of ['get', 'claim_nonce_and_touch']) {
        const call = one(spans, (s) => s.name === `mesh_session.store.${operation}`);
        expect(parentOf(call)).toBe(idOf(callServer));
      }
      expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(
        new Set([work.spanContext().traceId]),
      );
    } finally {
      await client.disconnectAll();
      await greeter.close();
    }
  });

  it('marks failed handshakes as errors with their outcome, on both sides', async () => {
    const greeter = await startGreeter(platforms[0], { store, telemetry: otel.options });
    const stranger = new MeshClient({
      serviceId: 'caller',
      privateKey: keys.stranger.privateKey,
      services: { greeter: { url: greeter.url, publicKey: keys.greeter.publicKey } },
      telemetry: otel.options,
    });
    try {
      await expect(stranger.connect('greeter').connect()).rejects.toMatchObject({
        reason: 'rejected',
      });
      const handshakes = otel.spans('mesh_session.handshake');
      expect(
        handshakes.map((s) => ({
          kind: s.kind,
          status: s.status,
          outcome: s.attributes[A.outcome],
        })),
      ).toEqual(
        expect.arrayContaining([
          {
            kind: SpanKind.INTERNAL,
            status: { code: SpanStatusCode.ERROR, message: 'failed' },
            outcome: 'failed',
          },
          {
            kind: SpanKind.CLIENT,
            status: { code: SpanStatusCode.ERROR, message: 'rejected' },
            outcome: 'rejected',
          },
        ]),
      );
      expect(handshakes).toHaveLength(2);
      for (const span of handshakes) expect(span.events).toEqual([]);
    } finally {
      await greeter.close();
    }
  });

  it('traces a cleanup run, with its store call inside it', async () => {
    const telemetry = await createSessionTelemetry(
      resolveTelemetryOptions(MODULE_OPTION_CHECKS, otel.options),
      { store, pinnedServices: [] },
    );
    const manager = new SessionManager(store, { sessionTimeout: 60_000 }, undefined, telemetry);
    await manager.cleanupExpiredSessions();
    const cleanup = one(otel.spans(), (s) => s.name === 'mesh_session.cleanup');
    expect(cleanup.kind).toBe(SpanKind.INTERNAL);
    expect(cleanup.parentSpanContext).toBeUndefined();
    expect(cleanup.attributes).toEqual({
      [A.storeKind]: store.telemetryKind,
      [A.cleanupRemoved]: 0,
      [A.outcome]: 'success',
    });
    const call = one(otel.spans(), (s) => s.name === 'mesh_session.store.delete_expired');
    expect(parentOf(call)).toBe(idOf(cleanup));
  });
});

describe('trace context on gRPC, and failures', () => {
  let otel: TestTelemetry;

  beforeEach(() => {
    otel = new TestTelemetry();
  });

  afterEach(() => otel.shutdown());

  it('sends the trace context in the metadata of signed calls, beside the signature', async () => {
    const greeter: GrpcApp = await startGrpcApp({
      handshake: {
        privateKey: keys.greeter.privateKey,
        trustedServices: { caller: [keys.caller.publicKey] },
      },
      module: { telemetry: otel.options },
      controllers: [TracedGrpcGreeter],
    });
    const client = new MeshClient({
      serviceId: 'caller',
      privateKey: keys.caller.privateKey,
      services: {
        greeter: {
          grpc: {
            address: greeter.url,
            protoPath: GREETER_PROTO_PATH,
            service: 'greeter.v1.Greeter',
          },
          publicKey: keys.greeter.publicKey,
        },
      },
      telemetry: otel.options,
    });
    try {
      const tracer = otel.tracerProvider.getTracer('caller-app');
      const { message, traceId, spanId } = await tracer.startActiveSpan(
        'caller work',
        async (work) => {
          const reply = await client.connect('greeter').call<{ message: string }>('Greet', {});
          work.end();
          return { ...reply, ...work.spanContext() };
        },
      );
      expect(message).toBe(`00-${traceId}-${spanId}-01`);
      const handshakes = otel.spans('mesh_session.handshake');
      expect(
        handshakes.map((s) => [s.kind, s.attributes[A.handshakeSide], s.attributes[A.transport]]),
      ).toEqual(
        expect.arrayContaining([
          [SpanKind.CLIENT, 'client', 'grpc'],
          [SpanKind.INTERNAL, 'server', 'grpc'],
        ]),
      );
    } finally {
      await client.disconnectAll();
      await greeter.close();
    }
  });

  it('marks a failed cleanup run as an error', async () => {
    class BrokenStore extends MemorySessionStore {
      override async deleteExpired(): Promise<number> {
        throw new Error('disk on fire');
      }
    }
    const store = new BrokenStore();
    const telemetry = await createSessionTelemetry(
      resolveTelemetryOptions(MODULE_OPTION_CHECKS, otel.options),
      { pinnedServices: [] },
    );
    const manager = new SessionManager(store, {}, undefined, telemetry);
    await expect(manager.cleanupExpiredSessions()).rejects.toThrow('disk on fire');
    const cleanup = one(otel.spans(), (s) => s.name === 'mesh_session.cleanup');
    expect(cleanup.status).toEqual({ code: SpanStatusCode.ERROR, message: 'error' });
    expect(cleanup.attributes[A.errorType]).toBe('error');
    expect(await otel.sum('mesh_session.cleanup.duration', { [A.outcome]: 'error' })).toBe(1);
    const call = one(otel.spans(), (s) => s.name === 'mesh_session.store.delete_expired');
    expect(call.status.code).toBe(SpanStatusCode.ERROR);
    expect(
      await otel.sum('mesh_session.store.errors', { [A.storeOperation]: 'delete_expired' }),
    ).toBe(1);
  });
});

describe('trace context and the signature', () => {
  it('does not sign traceparent: a proxy may add or rewrite it without breaking the request', async () => {
    const otel = new TestTelemetry();
    const greeter = await startGreeter(platforms[1], { telemetry: otel.options });
    try {
      const key = randomBytes(32);
      const session = await greeter.app.get(SessionManager).createSession('caller', key);
      const signed = (traceparent?: string) => {
        const headers = signRequest({
          method: 'GET',
          url: `${greeter.url}/whoami`,
          sessionId: session.id,
          sessionKey: key,
        });
        return { ...headers, ...(traceparent === undefined ? {} : { traceparent }) };
      };
      for (const traceparent of [
        undefined,
        '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00',
      ]) {
        const res = await request(greeter.url).get('/whoami').set(signed(traceparent));
        expect({ traceparent, status: res.status }).toEqual({ traceparent, status: 200 });
      }
    } finally {
      await greeter.close();
      await otel.shutdown();
    }
  });
});

describe('secrets in telemetry', () => {
  it('exports no key, session id, signature or nonce in any attribute, span or event', async () => {
    const otel = new TestTelemetry();
    const greeter = await listenInstrumented(otel, {
      telemetry: { ...otel.options, peerServiceAttribute: true },
      rateLimit: { maxRequests: 100, windowMs: 60_000 },
      handshake: greeterHandshake,
    });
    const grpcGreeter = await startGrpcApp({
      handshake: {
        privateKey: keys.greeter.privateKey,
        trustedServices: { caller: [keys.caller.publicKey] },
      },
      module: { telemetry: otel.options },
      controllers: [TracedGrpcGreeter],
    });
    const sent: Record<string, string>[] = [];
    const recordingFetch: typeof fetch = (url, init) => {
      sent.push({ ...(init?.headers as Record<string, string>) });
      return fetch(url, init);
    };
    const client = new MeshClient({
      serviceId: 'caller',
      privateKey: keys.caller.privateKey,
      services: {
        greeter: { url: greeter.url, publicKey: keys.greeter.publicKey },
        'greeter-grpc': {
          grpc: {
            address: grpcGreeter.url,
            protoPath: GREETER_PROTO_PATH,
            service: 'greeter.v1.Greeter',
          },
          publicKey: keys.greeter.publicKey,
          serviceId: 'greeter',
        },
      },
      fetch: recordingFetch,
      telemetry: otel.options,
    });
    try {
      const http = client.connect('greeter');
      const grpc = client.connect('greeter-grpc');
      for (let i = 0; i < 3; i++) await http.call('greet', { name: `n${i}` });
      await grpc.call('Greet', {});
      const manager = greeter.app.get(SessionManager);
      const grpcManager = grpcGreeter.app.get(SessionManager);
      const sessions = [
        ...(await manager.getSessionsByServiceId('caller')),
        ...(await grpcManager.getSessionsByServiceId('caller')),
      ];
      expect(sessions).toHaveLength(2);
      // A session-id request too, and a refused one that names a live id.
      const bearer = await manager.createSession('billing', randomBytes(32));
      sessions.push(bearer);
      await request(greeter.url)
        .get('/whoami')
        .set({
          ...signRequest({
            method: 'GET',
            url: `${greeter.url}/whoami`,
            sessionId: bearer.id,
            sessionKey: randomBytes(32),
          }),
        });

      const secrets: string[] = [];
      for (const session of sessions) {
        secrets.push(session.id, ...keyEncodings(session.sessionKey));
      }
      for (const headers of sent) {
        for (const name of ['signature', 'signature-input', 'content-digest']) {
          if (headers[name] !== undefined) {
            secrets.push(headers[name], headers[name].replace(/^[^=]+=:|:$/g, ''));
          }
        }
        const nonce = /nonce="([^"]+)"/.exec(headers['signature-input'] ?? '')?.[1];
        if (nonce !== undefined) secrets.push(nonce);
      }
      const pem = (key: string) =>
        key.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----'));
      secrets.push(...pem(keys.caller.privateKey), ...pem(keys.greeter.privateKey));
      expect(sent.filter((h) => h.signature !== undefined).length).toBeGreaterThanOrEqual(3);

      const exported = await otel.exportedText();
      expect(otel.spans().length).toBeGreaterThan(10);
      expect(exported).toContain('mesh_session.guard.requests');
      for (const secret of secrets) {
        expect(secret.length).toBeGreaterThanOrEqual(8);
        if (exported.includes(secret))
          throw new Error(`a secret is exported: ${secret.slice(0, 6)}…`);
      }
    } finally {
      await client.disconnectAll();
      await greeter.close();
      await grpcGreeter.close();
      await otel.shutdown();
    }
  });
});
