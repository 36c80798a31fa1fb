import request from 'supertest';
import { startSample, type RunningSample } from '../../sample/sample.js';
import { GREETER_PROTO } from '../../sample/greeting.js';
import { callError, rawGrpcClient, unaryCall } from '../support/grpc/grpc-app.js';
import { freePort } from '../support/redis-server.js';

describe('sample: greeter and caller', () => {
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

  it('walks the README flow: health, hello through the caller, refusals on the greeter', async () => {
    const health = await request(sample.greeterUrl).get('/health');
    expect(health.status).toBe(200);
    expect(health.body.info.sessions).toEqual({
      status: 'up',
      activeSessions: 0,
      maxActiveSessions: 1000,
    });

    // The caller handshakes with the greeter on first use, then signs each call.
    const hello = await request(sample.callerUrl).get('/hello?name=World');
    expect(hello.status).toBe(200);
    expect(hello.body).toEqual({ message: 'Hello, World', serviceId: 'caller' });
    const again = await request(sample.callerUrl).get('/hello');
    expect(again.body).toEqual({ message: 'Hello, World', serviceId: 'caller' });

    const after = await request(sample.greeterUrl).get('/health');
    expect(after.body.info.sessions.activeSessions).toBe(1);

    // Straight to the greeter, without a signature or a pinned identity: refused.
    const unsigned = await request(sample.greeterUrl).post('/greet').send({ name: 'World' });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.message).toBe('Missing request signature');
    const handshake = await request(sample.greeterUrl)
      .post('/mesh/handshake')
      .set('content-type', 'text/plain')
      .send('{"clientId":"caller"}');
    expect(handshake.status).toBe(401);
    expect(handshake.body).toEqual({
      statusCode: 401,
      message: 'Handshake failed',
      error: 'Unauthorized',
    });
  });

  it('walks the gRPC flow: hello through the caller over gRPC, an unsigned call refused', async () => {
    const before = await request(sample.greeterUrl).get('/health');
    const sessions = before.body.info.sessions.activeSessions as number;

    // The caller handshakes over gRPC (MeshHandshake/Open), then signs Greeter/Greet.
    const hello = await request(sample.callerUrl).get('/hello/grpc?name=World');
    expect(hello.status).toBe(200);
    expect(hello.body).toEqual({ message: 'Hello, World', serviceId: 'caller' });
    const again = await request(sample.callerUrl).get('/hello/grpc?name=Ada');
    expect(again.body).toEqual({ message: 'Hello, Ada', serviceId: 'caller' });
    const after = await request(sample.greeterUrl).get('/health');
    expect(after.body.info.sessions.activeSessions).toBe(sessions + 1);

    const client = rawGrpcClient(sample.greeterGrpcAddress, 'greeter.v1.Greeter', GREETER_PROTO);
    try {
      const refused = await callError(unaryCall(client, 'Greet', { name: 'World' }));
      expect({ code: refused.code, details: refused.details }).toEqual({
        code: 16,
        details: 'Missing request signature',
      });
    } finally {
      client.close();
    }

    const long = await request(sample.callerUrl).get(`/hello/grpc?name=${'a'.repeat(101)}`);
    expect(long.status).toBe(400);
    expect(long.body.message).toBe('name must be 1 to 100 characters');
  });

  it('removed the demo stand-in for the handshake', async () => {
    const res = await request(sample.greeterUrl).post('/demo/sessions').send({ serviceId: 'x' });
    expect(res.status).toBe(404);
  });

  it('answers 400 for bad input, never 500', async () => {
    const long = await request(sample.callerUrl).get(`/hello?name=${'a'.repeat(101)}`);
    expect(long.status).toBe(400);
    expect(long.body.message).toBe('name must be 1 to 100 characters');
    const twice = await request(sample.callerUrl).get('/hello?name=a&name=b');
    expect(twice.status).toBe(400);
    const empty = await request(sample.callerUrl).get('/hello?name=');
    expect(empty.status).toBe(400);
  });
});
