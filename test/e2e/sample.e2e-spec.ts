import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from '../../sample/app.module.js';

describe('sample app', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });

  afterAll(() => app.close());

  it('walks the README flow: health, demo session, greet', async () => {
    const server = app.getHttpServer();

    const health = await request(server).get('/health');
    expect(health.status).toBe(200);
    expect(health.body.info.sessions).toEqual({
      status: 'up',
      activeSessions: 0,
      maxActiveSessions: 1000,
    });

    const created = await request(server).post('/demo/sessions').send({ serviceId: 'billing' });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(['expiresAt', 'sessionId']);
    expect(created.text).not.toMatch(/key/i);

    const greet = await request(server)
      .get('/greet?name=World')
      .set('x-mesh-session-id', created.body.sessionId);
    expect(greet.status).toBe(200);
    expect(greet.body).toEqual({ message: 'Hello, World', serviceId: 'billing' });

    const anonymous = await request(server).get('/greet?name=World');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.message).toBe('Missing session id');

    const after = await request(server).get('/health');
    expect(after.body.info.sessions.activeSessions).toBe(1);
  });

  it('answers 400 for bad input, never 500', async () => {
    const server = app.getHttpServer();
    expect((await request(server).post('/demo/sessions').send({})).status).toBe(400);
    expect((await request(server).post('/demo/sessions').send({ serviceId: 42 })).status).toBe(400);
    expect(
      (
        await request(server)
          .post('/demo/sessions')
          .set('content-type', 'application/json')
          .send('{')
      ).status,
    ).toBe(400);
    const { body } = await request(server).post('/demo/sessions').send({ serviceId: 'x' });
    const long = await request(server)
      .get(`/greet?name=${'a'.repeat(101)}`)
      .set('x-mesh-session-id', body.sessionId);
    expect(long.status).toBe(400);
    const twice = await request(server)
      .get('/greet?name=a&name=b')
      .set('x-mesh-session-id', body.sessionId);
    expect(twice.status).toBe(400);
  });
});
