// Keys, models and requests for the tenant tests. Not a test file.
import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { expect } from 'vitest';

export const BOOTSTRAP = 'bootstrap-admin-token-0123456789';
export const asBootstrap = { authorization: `Bearer ${BOOTSTRAP}` };
export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

export interface CreatedKey {
  id: string;
  key: string;
  tenant: string;
  scopes: string[];
}

// A key made with POST /keys by the bootstrap admin key.
export async function createKey(app: FastifyInstance, tenant: string, scopes: string[], quotas: Record<string, number> = {}): Promise<CreatedKey> {
  const response = await app.inject({ method: 'POST', url: '/keys', headers: asBootstrap, payload: { tenant, name: `${tenant} ${scopes.join('+')}`, scopes, quotas } });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

// A model document POST /models takes (a model of its own: no training needed).
export const modelDocument = { weights: Array.from({ length: 7840 }, (_, i) => ((i % 10) - 4.5) / 100), bias: new Array(10).fill(0) };

export async function importModel(app: FastifyInstance, key: string, visibility?: 'public'): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/models', headers: bearer(key), payload: modelDocument });
  expect(response.statusCode, response.body).toBe(201);
  const id = response.json().id as string;
  if (visibility) {
    const changed = await app.inject({ method: 'PATCH', url: `/models/${id}`, headers: bearer(key), payload: { visibility } });
    expect(changed.statusCode, changed.body).toBe(200);
  }
  return id;
}

export async function submitJob(app: FastifyInstance, key: string, payload: Record<string, unknown> = { epochs: 1 }): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/jobs', headers: bearer(key), payload });
  expect(response.statusCode, response.body).toBe(202);
  return response.json().id;
}

// A finished job: queued, then cancelled.
export async function cancelledJob(app: FastifyInstance, key: string): Promise<string> {
  const id = await submitJob(app, key);
  const cancelled = await app.inject({ method: 'POST', url: `/jobs/${id}/cancel`, headers: bearer(key) });
  expect(cancelled.statusCode, cancelled.body).toBe(200);
  return id;
}

export async function startSweep(app: FastifyInstance, key: string): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/sweeps', headers: bearer(key), payload: { base: { epochs: 1 }, grid: { lr: [0.1] } } });
  expect(response.statusCode, response.body).toBe(202);
  return response.json().id;
}

export async function baseUrl(app: FastifyInstance): Promise<string> {
  const address = app.server.address();
  return typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : app.listen({ port: 0, host: '127.0.0.1' });
}

// The HTTP status a WebSocket upgrade gets: 101 when it opens (then closed at once).
export function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'));
    socket.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.on('open', () => {
      socket.close();
      resolve(101);
    });
    socket.on('error', reject);
  });
}

// The status of a Server-Sent Events request; its connection (never kept alive) is dropped at once.
export function eventStreamStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { ...headers, accept: 'text/event-stream' }, agent: false }, (response) => {
      resolve(response.statusCode ?? 0);
      request.destroy();
    });
    request.on('error', (error) => {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(error);
    });
  });
}
