import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { VigilError } from '@vigil-enforcer/client/protocol'
import { createRedisStore } from '../../src/store/redis-store.js'
import { createStoreHealth } from '../../src/store/store-health.js'
import type { PolicyStore } from '../../src/store/types.js'
import { startNode, type TestNode } from '../helpers/enforcer.js'
import { startRedisServer, stopAll, type RedisNode } from '../helpers/redis-topology.js'

// Durable acknowledgements against a real primary and replica this file starts. A stopped
// replica (SIGSTOP) is one that cannot acknowledge: the primary commits, WAIT times out.
let primary: RedisNode
let replica: RedisNode
const stores: PolicyStore[] = []
const nodes: TestNode[] = []

before(async () => {
  primary = await startRedisServer()
  replica = await startRedisServer({ replicaOf: primary.port })
})
after(async () => {
  replica.child.kill('SIGCONT')
  await Promise.all(nodes.map((n) => n.close()))
  await Promise.all(stores.map((s) => s.close()))
  await stopAll()
})

function open(replicas: number, timeoutMs = 200, prefix = '{vigil-wait}:') {
  const health = createStoreHealth()
  const store = createRedisStore({
    url: primary.url,
    prefix,
    waitReplicas: replicas,
    waitTimeoutMs: timeoutMs,
    health,
  })
  stores.push(store)
  return { store, health }
}

/** Stops the replica for the duration of `work`: it can neither replicate nor acknowledge. */
async function withReplicaStopped<T>(work: () => Promise<T>): Promise<T> {
  replica.child.kill('SIGSTOP')
  try {
    return await work()
  } finally {
    replica.child.kill('SIGCONT')
  }
}

const revoke = (subject: string) =>
  ({ type: 'revoke', target: { kind: 'subject', subject } }) as const

test('with a replica up, a change waited for is acknowledged normally', async () => {
  const { store, health } = open(1, 1000, '{vigil-wait-a}:')
  const result = await store.apply(revoke('alice'))
  assert.ok(result.ok)
  assert.equal(result.version, 1)
  assert.equal(health.unconfirmedWrites(), 0)
})

test('a change no replica confirms in time is refused as store_unavailable, applied, with its version', async () => {
  const { store, health } = open(1, 200, '{vigil-wait-b}:')
  const err = await withReplicaStopped(() =>
    store.apply(revoke('mallory')).then(
      () => assert.fail('an unconfirmed change must not be acknowledged'),
      (e: unknown) => e,
    ),
  )
  assert.ok(err instanceof VigilError)
  assert.equal(err.code, 'store_unavailable')
  assert.deepEqual(err.details, { applied: true, version: 1, replicas: 0, required: 1 })
  assert.match(err.message, /applied as version 1.*Retrying it is safe/s)
  assert.equal(health.unconfirmedWrites(), 1)
  // It was committed on the primary: the document has it, and a retry lands on top of it.
  const snap = await store.load()
  assert.ok(snap.policy.revocations.subjects.get('mallory'))
  const retried = await store.apply(revoke('mallory'))
  assert.ok(retried.ok)
  assert.equal(retried.version, 2)
})

test('asking for more replicas than exist never acknowledges, and says how many confirmed', async () => {
  const { store } = open(2, 100, '{vigil-wait-c}:')
  await assert.rejects(store.apply(revoke('bob')), (err: unknown) => {
    assert.ok(err instanceof VigilError)
    assert.deepEqual(err.details, { applied: true, version: 1, replicas: 1, required: 2 })
    return true
  })
})

test('without waiting, the same stopped replica does not hold up an acknowledgement', async () => {
  const { store } = open(0, 100, '{vigil-wait-d}:')
  const result = await withReplicaStopped(() => store.apply(revoke('carol')))
  assert.ok(result.ok)
})

test('the API answers an unconfirmed revocation 503 with applied and version, audits it and counts it', async () => {
  const node = await startNode({
    env: {
      REDIS_URL: primary.url,
      VIGIL_REDIS_PREFIX: '{vigil-wait-api}:',
      VIGIL_REDIS_WAIT_REPLICAS: '1',
      VIGIL_REDIS_WAIT_TIMEOUT_MS: '200',
    },
  })
  nodes.push(node)
  const ok = await node.api('/v1/revocations', { method: 'POST', json: { subject: 'eve' } })
  assert.equal(ok.status, 201)
  const version = ((await ok.json()) as { version: number }).version

  const refused = await withReplicaStopped(() =>
    node.api('/v1/revocations', { method: 'POST', json: { subject: 'frank' } }),
  )
  assert.equal(refused.status, 503)
  const body = (await refused.json()) as { error: { code: string; details: unknown } }
  assert.equal(body.error.code, 'store_unavailable')
  assert.deepEqual(body.error.details, {
    applied: true,
    version: version + 1,
    replicas: 0,
    required: 1,
  })
  const audited = node.audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  assert.ok(
    audited.some((r) => r['target'] === 'subject:frank' && r['unconfirmed'] === true),
    node.audit.text,
  )
  const metrics = await (await node.api('/metrics')).text()
  assert.match(metrics, /^vigil_store_unconfirmed_writes_total\{[^}]*\} 1$/m)
  assert.match(metrics, /^vigil_store_up\{[^}]*\} 1$/m)

  // Revocations are idempotent: the retry succeeds and the subject stays revoked once.
  const retry = await node.api('/v1/revocations', { method: 'POST', json: { subject: 'frank' } })
  assert.equal(retry.status, 201)
  const policy = (await (await node.api('/v1/policy')).json()) as {
    policy: { revocations: { subjects: Record<string, unknown> } }
  }
  assert.ok(policy.policy.revocations.subjects['frank'])
})
