import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadConfig } from '../src/config.js'
import { describeTopology, redactUrl } from '../src/store/redis-connection.js'

const names = (problems: string[]): string[] => problems.map((p) => p.split(': ')[0]!)

test('no Redis variable means the in-memory store and no waiting for replicas', () => {
  const r = loadConfig({})
  assert.ok(r.ok)
  assert.equal(r.config.redis, undefined)
  assert.deepEqual(r.config.redisWait, { replicas: 0, timeoutMs: 1000 })
})

test('REDIS_URL gives the url topology and keeps redisUrl for existing callers', () => {
  const r = loadConfig({ REDIS_URL: 'rediss://:pw@cache.internal:6380/2' })
  assert.ok(r.ok)
  assert.deepEqual(r.config.redis, { kind: 'url', url: 'rediss://:pw@cache.internal:6380/2' })
  assert.equal(r.config.redisUrl, 'rediss://:pw@cache.internal:6380/2')
})

test('REDIS_SENTINELS with REDIS_SENTINEL_NAME gives the sentinel topology', () => {
  const r = loadConfig({
    REDIS_SENTINELS: 'sentinel-a:26379, 10.0.0.2:26380,[::1]:26381',
    REDIS_SENTINEL_NAME: 'vigil-main',
    REDIS_PASSWORD: 'data-secret',
    REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
  })
  assert.ok(r.ok, JSON.stringify(r))
  assert.deepEqual(r.config.redis, {
    kind: 'sentinel',
    sentinels: [
      { host: 'sentinel-a', port: 26379 },
      { host: '10.0.0.2', port: 26380 },
      { host: '::1', port: 26381 },
    ],
    name: 'vigil-main',
    password: 'data-secret',
    sentinelPassword: 'sentinel-secret',
  })
  assert.equal(r.config.redisUrl, undefined)
})

test('REDIS_CLUSTER_NODES gives the cluster topology with its credentials', () => {
  const r = loadConfig({
    REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001',
    REDIS_USERNAME: 'vigil',
    REDIS_PASSWORD: 'secret',
    VIGIL_REDIS_WAIT_REPLICAS: '1',
    VIGIL_REDIS_WAIT_TIMEOUT_MS: '250',
  })
  assert.ok(r.ok, JSON.stringify(r))
  assert.deepEqual(r.config.redis, {
    kind: 'cluster',
    nodes: [
      { host: '127.0.0.1', port: 7000 },
      { host: '127.0.0.1', port: 7001 },
    ],
    username: 'vigil',
    password: 'secret',
  })
  assert.deepEqual(r.config.redisWait, { replicas: 1, timeoutMs: 250 })
})

test('two topologies at once are refused, naming both variables', () => {
  const r = loadConfig({
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_CLUSTER_NODES: '127.0.0.1:7000',
  })
  assert.ok(!r.ok)
  assert.deepEqual(r.problems, [
    'REDIS_URL, REDIS_CLUSTER_NODES: set only one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES',
  ])
})

test('sentinels without a master name, and a name without sentinels, are each refused', () => {
  const without = loadConfig({ REDIS_SENTINELS: '127.0.0.1:26379' })
  assert.ok(!without.ok)
  assert.deepEqual(names(without.problems), ['REDIS_SENTINEL_NAME'])
  const orphan = loadConfig({ REDIS_SENTINEL_NAME: 'mymaster', REDIS_SENTINEL_PASSWORD: 'x' })
  assert.ok(!orphan.ok)
  assert.deepEqual(names(orphan.problems), ['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD'])
})

test('malformed address lists and wait settings are reported by name, all at once', () => {
  const r = loadConfig({
    REDIS_SENTINELS: '127.0.0.1:26379,nohost',
    REDIS_CLUSTER_NODES: 'a:99999',
    VIGIL_REDIS_WAIT_REPLICAS: '-1',
    VIGIL_REDIS_WAIT_TIMEOUT_MS: '0',
  })
  assert.ok(!r.ok)
  assert.deepEqual(names(r.problems).sort(), [
    'REDIS_CLUSTER_NODES',
    'REDIS_SENTINELS',
    'VIGIL_REDIS_WAIT_REPLICAS',
    'VIGIL_REDIS_WAIT_TIMEOUT_MS',
  ])
})

test('a credential mistaken for an address is never echoed in a problem', () => {
  const r = loadConfig({
    REDIS_CLUSTER_NODES: 'admin:hunter2@10.0.0.1:7000',
    REDIS_URL: 'redis//:hunter2@nowhere',
  })
  assert.ok(!r.ok)
  assert.ok(
    r.problems.every((p) => !p.includes('hunter2')),
    r.problems.join('\n'),
  )
})

test('credential variables beside REDIS_URL, or without any Redis, are refused', () => {
  const beside = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PASSWORD: 'x' })
  assert.ok(!beside.ok)
  assert.deepEqual(beside.problems, ['REDIS_PASSWORD: put the credentials in REDIS_URL instead'])
  const alone = loadConfig({ REDIS_USERNAME: 'u' })
  assert.ok(!alone.ok)
  assert.deepEqual(names(alone.problems), ['REDIS_USERNAME'])
})

test('waiting for replicas without Redis is refused', () => {
  const r = loadConfig({ VIGIL_REDIS_WAIT_REPLICAS: '1' })
  assert.ok(!r.ok)
  assert.deepEqual(names(r.problems), ['VIGIL_REDIS_WAIT_REPLICAS'])
})

test('a cluster needs a key prefix with a hash tag', () => {
  const r = loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', VIGIL_REDIS_PREFIX: 'vigil:' })
  assert.ok(!r.ok)
  assert.deepEqual(names(r.problems), ['VIGIL_REDIS_PREFIX'])
})

test('topologies are described for logs without their credentials', () => {
  assert.equal(
    describeTopology({ kind: 'url', url: 'rediss://admin:hunter2@cache:6380/0' }),
    'rediss://***@cache:6380/0',
  )
  assert.equal(redactUrl('redis://cache:6379?password=hunter2'), 'redis://cache:6379?password=***')
  assert.equal(
    describeTopology({
      kind: 'sentinel',
      name: 'main',
      sentinels: [{ host: 's1', port: 26379 }],
      password: 'hunter2',
      sentinelPassword: 'hunter2',
    }),
    'sentinel master "main" via s1:26379',
  )
  assert.equal(
    describeTopology({ kind: 'cluster', nodes: [{ host: 'c1', port: 7000 }], password: 'x' }),
    'cluster c1:7000',
  )
})
