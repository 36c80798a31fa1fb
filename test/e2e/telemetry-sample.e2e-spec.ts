import request from 'supertest';
import { startSample, type RunningSample } from '../../sample/sample.js';
import { freePort } from '../support/redis-server.js';
import { parsePrometheusText, type PromFamily } from '../support/prometheus-text.js';

/*
 * The sample's `/metrics`, scraped over HTTP as Prometheus does, after the README's flow: the
 * caller's calls over HTTP and gRPC, and a request refused on the greeter. The text is parsed
 * as Prometheus's text format, and the library's metrics are read from it.
 */

const total = (family: PromFamily | undefined, labels: Record<string, string> = {}): number =>
  (family?.samples ?? [])
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);

describe('sample: /metrics in the Prometheus text format', () => {
  let sample: RunningSample;

  beforeAll(async () => {
    sample = await startSample({
      greeterPort: 0,
      callerPort: 0,
      greeterGrpcPort: await freePort(),
      logger: false,
    });
  });

  afterAll(() => sample.close());

  it('serves the guard, handshake, session and store metrics of the calls made', async () => {
    expect((await request(sample.callerUrl).get('/hello?name=World')).status).toBe(200);
    expect((await request(sample.callerUrl).get('/hello/grpc?name=Ada')).status).toBe(200);
    expect((await request(sample.greeterUrl).post('/greet').send({ name: 'x' })).status).toBe(401);

    const scrape = await request(sample.greeterUrl).get('/metrics');
    expect(scrape.status).toBe(200);
    expect(scrape.headers['content-type']).toMatch(/^text\/plain/);
    const families = parsePrometheusText(scrape.text);

    const requests = families.get('mesh_session_guard_requests_total');
    expect(requests?.type).toBe('counter');
    for (const transport of ['http', 'grpc']) {
      expect(
        total(requests, {
          mesh_session_outcome: 'allowed',
          mesh_session_transport: transport,
          mesh_session_peer_service: 'caller',
        }),
      ).toBe(1);
    }
    expect(
      total(requests, {
        mesh_session_outcome: 'refused',
        mesh_session_refusal_reason: 'signature_missing',
      }),
    ).toBe(1);

    const handshakes = families.get('mesh_session_handshakes_total');
    expect(handshakes?.type).toBe('counter');
    for (const side of ['server', 'client']) {
      expect(
        total(handshakes, { mesh_session_handshake_side: side, mesh_session_outcome: 'success' }),
      ).toBe(2);
    }

    const active = families.get('mesh_session_sessions_active');
    expect(active?.type).toBe('gauge');
    expect(total(active, { mesh_session_store_kind: 'memory' })).toBe(2);
    expect(total(families.get('mesh_session_sessions_created_total'))).toBe(2);

    const duration = families.get('mesh_session_guard_duration');
    expect(duration?.type).toBe('histogram');
    expect(duration?.unit).toBe('s');
    // The requests let through (over HTTP and gRPC), in one series without attributes.
    const buckets = (duration?.samples ?? []).filter(
      (s) => s.name === 'mesh_session_guard_duration_bucket',
    );
    expect(new Set(buckets.map((b) => Object.keys(b.labels).sort().join(',')))).toEqual(
      new Set(['le,otel_scope_name']),
    );
    expect(buckets.map((b) => b.labels.le).slice(0, 3)).toEqual(['0.00001', '0.000025', '0.00005']);
    expect(buckets.at(-1)).toMatchObject({ labels: { le: '+Inf' }, value: 2 });
    for (let i = 1; i < buckets.length; i++) {
      expect(buckets[i].value).toBeGreaterThanOrEqual(buckets[i - 1].value);
    }
    expect(
      total(families.get('mesh_session_store_operation_duration'), {
        mesh_session_store_operation: 'claim_nonce_and_touch',
      }),
    ).toBeGreaterThan(0);

    // Every name a label carries is from the bounded sets; no session id or signature.
    expect(scrape.text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-/);
    expect(scrape.text).not.toMatch(/sig1=|mesh=:/);
  });
});
