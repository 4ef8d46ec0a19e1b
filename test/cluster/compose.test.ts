// compose.yaml as documented: two API replicas and two workers of the one image on one Redis with an
// append-only volume, each service's environment a valid configuration of its role. (Running it
// needs a container engine: docs/scaling.md.)
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { repositoryRoot } from '../robustness/server-process.js';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
}

const token = 'a-token-of-sixteen-characters';
// The ${VAR:?message} and ${VAR:-default} of compose, with API_TOKEN set as the header comment says.
const substitute = (text: string) =>
  text.replace(/\$\{(\w+)(?::[?-]([^}]*))?\}/g, (_, name: string, fallback = '') => (name === 'API_TOKEN' ? token : fallback));

describe('compose.yaml', () => {
  it('runs api ×2 and worker ×2 of one image on Redis with an append-only volume, each with a valid configuration', async () => {
    const compose = parse(substitute(await readFile(path.join(repositoryRoot, 'compose.yaml'), 'utf8')), { merge: true }) as {
      services: Record<string, Service>;
      volumes: Record<string, unknown>;
    };
    const { redis, ...app } = compose.services;
    expect(redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']));
    expect(redis.volumes).toEqual(['redis-data:/data']);
    expect(Object.keys(compose.volumes)).toEqual(['redis-data']);

    const roles = Object.values(app).map((service) => {
      expect(service).toMatchObject({ build: '.', image: 'softmax-serve', depends_on: { redis: { condition: 'service_healthy' } } });
      const config = loadConfig(service.environment!);
      expect(config.REDIS_URL).toBe('redis://redis:6379');
      expect(config.API_TOKEN).toBe(token);
      return `${config.ROLE}:${config.WORKER_ID}`;
    });
    expect(roles.sort()).toEqual(['api:api-1', 'api:api-2', 'worker:worker-1', 'worker:worker-2']);
    const published = Object.values(app).flatMap((service) => service.ports ?? []);
    expect(new Set(published).size).toBe(4);
  });
});
