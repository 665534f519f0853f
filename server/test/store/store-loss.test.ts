import assert from 'node:assert/strict'
import { copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { SEED_POLICY, startNode, type TestNode } from '../helpers/enforcer.js'
import { startRedisProcess, type RedisProcess } from '../helpers/redis-process.js'

/**
 * A revocation, once acknowledged, survives the store losing it: Redis restarted empty, or
 * restored from an older snapshot. Real redis-server processes of the test's own, killed and
 * restarted; two enforcer nodes on each.
 */

const PREFIX = '{vigil-loss}:'

async function call(node: TestNode, method: string, path: string, json?: unknown, auth?: string) {
  const res = await node.api(path, {
    method,
    ...(json === undefined ? {} : { json }),
    ...(auth === undefined ? {} : { auth }),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

async function mint(node: TestNode, sub: string): Promise<string> {
  const { status, body } = await call(node, 'POST', '/v1/sessions', { sub })
  assert.equal(status, 201, JSON.stringify(body))
  return body.access_token as string
}

const me = async (node: TestNode, token: string) =>
  await call(node, 'GET', '/v1/me', undefined, token)

/** Polls (bounded) until `check` holds; a node's recovery is driven by its own store tail. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  assert.fail(`timed out waiting until ${what}`)
}

const ready = async (node: TestNode) => (await node.api('/readyz')).status === 200

/**
 * True once `node` trusts the store again on a history past `version`: its own head is the
 * store's, and the store continues above what the nodes had seen before the fault.
 */
async function recoveredPast(node: TestNode, version: number): Promise<boolean> {
  const { body } = await call(node, 'GET', '/v1/store')
  if (body.status !== 'ok' || !body.store || body.store === 'unreachable') return false
  return (
    body.store.version > version &&
    body.node.version === body.store.version &&
    body.node.head === body.store.head
  )
}

/**
 * Watches, from before the fault until `stop`, that `token` is never admitted on any node:
 * the promise "no subject that was revoked may be admitted again, at any moment".
 */
function neverAdmitted(nodes: TestNode[], token: string) {
  let running = true
  const statuses = new Set<number>()
  const loop = (async () => {
    while (running) {
      for (const node of nodes) statuses.add((await me(node, token)).status)
      await new Promise((r) => setTimeout(r, 10))
    }
  })()
  return async () => {
    running = false
    await loop
    assert.ok(!statuses.has(200), `a revoked token was admitted (saw ${[...statuses]})`)
    return statuses
  }
}

function metric(text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n'))
    if (line.startsWith(name)) sum += Number(line.split(' ').at(-1))
  return sum
}

async function startPair(redis: RedisProcess, env: Record<string, string> = {}) {
  const common = {
    REDIS_URL: redis.url,
    VIGIL_REDIS_PREFIX: PREFIX,
    VIGIL_ISSUER: 'http://vigil.test',
    VIGIL_MAX_STALENESS_MS: '3000',
    ...env,
  }
  const a = await startNode({ env: { ...common, VIGIL_NODE_ID: 'node-a' } })
  const b = await startNode({ env: { ...common, VIGIL_NODE_ID: 'node-b' } })
  assert.equal((await call(a, 'PUT', '/v1/policy', SEED_POLICY)).status, 200)
  return [a, b] as const
}

/** A redis-server of the describe block's own and two nodes on it, started and stopped with it. */
function pairOnOwnRedis(env: Record<string, string> = {}) {
  const pair = {} as { redis: RedisProcess; a: TestNode; b: TestNode }
  before(async () => {
    pair.redis = await startRedisProcess()
    ;[pair.a, pair.b] = await startPair(pair.redis, env)
  })
  after(async () => {
    await Promise.all([pair.a?.close(), pair.b?.close()])
    await pair.redis?.stop()
  })
  return pair
}

describe('store restarted empty, restore mode (the default)', () => {
  const pair = pairOnOwnRedis()

  test('a revoked subject stays revoked on every node and the rest of the state comes back', async () => {
    const { redis, a, b } = pair
    const alice = await mint(a, 'alice')
    const dave = await mint(b, 'dave')
    const revoked = await call(a, 'POST', '/v1/revocations', { subject: 'dave', reason: 'left' })
    assert.equal(revoked.status, 201)
    await until('both nodes deny dave', async () => (await me(b, dave)).status === 401)
    const versionBefore = revoked.body.version as number

    const watch = neverAdmitted([a, b], dave)
    await redis.kill()
    await redis.start() // empty: no persistence
    await until(
      'both nodes trust the store again',
      async () =>
        (await recoveredPast(a, versionBefore)) && (await recoveredPast(b, versionBefore)),
    )
    assert.ok((await ready(a)) && (await ready(b)))
    await watch()

    for (const node of [a, b]) {
      const d = await me(node, dave)
      assert.equal(d.status, 401)
      assert.equal(d.body.error.code, 'revoked')
      // Alice's token verifies again: the node wrote back the signing keys the store lost.
      assert.equal((await me(node, alice)).status, 200)
    }
    const store = (await call(a, 'GET', '/v1/store')).body
    assert.equal(store.status, 'ok', JSON.stringify(store))
    assert.ok(store.store.version > versionBefore, 'versions continue above what nodes had seen')
    assert.deepEqual(store.node, store.store)
    const restoredLines = [...a.audit.lines, ...b.audit.lines].filter((l) =>
      l.includes('"change":"store.restored"'),
    )
    assert.ok(restoredLines.length >= 1, 'the restore is audited')
    const text = await (await a.api('/metrics')).text()
    assert.ok(metric(text, 'vigil_store_losses_total') >= 1)
    assert.equal(metric(text, 'vigil_store_reset '), 0)
  })

  test('after recovery a new revocation reaches every node', async () => {
    const { redis, a, b } = pair
    const alice = await mint(a, 'alice')
    assert.equal((await call(b, 'POST', '/v1/revocations', { subject: 'alice' })).status, 201)
    await until('node a denies alice', async () => (await me(a, alice)).status === 401)
  })
})

describe('store restarted empty, fail-closed mode', () => {
  const pair = pairOnOwnRedis({ VIGIL_STORE_LOSS: 'fail-closed' })

  test('every node denies with store_reset until an operator restores, then the revocation holds', async () => {
    const { redis, a, b } = pair
    const alice = await mint(a, 'alice')
    const dave = await mint(a, 'dave')
    assert.equal((await call(a, 'POST', '/v1/revocations', { subject: 'dave' })).status, 201)
    await until('node b denies dave', async () => (await me(b, dave)).status === 401)

    await redis.kill()
    await redis.start()
    for (const node of [a, b]) {
      await until('the node notices', async () => (await node.api('/readyz')).status === 503)
      await until('it says store_reset', async () => {
        const r = await call(node, 'GET', '/readyz')
        return r.body.error.code === 'store_reset'
      })
      const d = await me(node, dave)
      assert.equal(d.status, 503)
      assert.equal(d.body.error.code, 'store_reset')
      assert.equal((await me(node, alice)).body.error.code, 'store_reset')
      const minted = await call(node, 'POST', '/v1/sessions', { sub: 'dave' })
      assert.equal(minted.status, 503)
      assert.equal(minted.body.error.code, 'store_reset')
      assert.match(await (await node.api('/metrics')).text(), /^vigil_store_reset\{[^}]*\} 1$/m)
    }
    const logged = a.logs.lines.find((l) => l.includes('store_reset') && l.includes('emptied'))
    assert.ok(logged, 'an error line names what was lost')

    const restored = await call(b, 'POST', '/v1/store/restore')
    assert.equal(restored.status, 200, JSON.stringify(restored.body))
    assert.equal(restored.body.restored, true)
    assert.ok(restored.body.revocations >= 1)
    await until('both nodes are ready', async () => (await ready(a)) && (await ready(b)))
    for (const node of [a, b]) {
      assert.equal((await me(node, dave)).body.error.code, 'revoked')
      assert.equal((await me(node, alice)).status, 200)
    }
    // A node that is not in store_reset has nothing to restore.
    assert.equal((await call(a, 'POST', '/v1/store/restore')).status, 409)
  })
})

describe('store rolled back to an older snapshot', () => {
  const pair = pairOnOwnRedis()

  test('lost revocations are written back and every change after the rollback is enforced', async () => {
    const { redis, a, b } = pair
    const dave = await mint(a, 'dave')
    const erin = await mint(a, 'erin')
    const bob = await mint(a, 'bob')
    const snapshot = redis.client()
    await snapshot.save()
    await copyFile(join(redis.dir, 'dump.rdb'), join(redis.dir, 'old.rdb'))
    const snapVersion = Number(await snapshot.get(`${PREFIX}version`))
    // Acknowledged after the snapshot: lost by the rollback.
    assert.equal((await call(a, 'POST', '/v1/revocations', { subject: 'dave' })).status, 201)
    assert.equal((await call(a, 'PUT', '/v1/subjects/bob/roles', { roles: [] })).status, 200)
    await until('node b denies dave', async () => (await me(b, dave)).status === 401)

    const watch = neverAdmitted([a, b], dave)
    await redis.kill()
    await copyFile(join(redis.dir, 'old.rdb'), join(redis.dir, 'dump.rdb'))
    await redis.start()
    assert.equal(Number(await redis.client().get(`${PREFIX}version`)), snapVersion)
    // Written after the rollback: its version number repeats one the nodes have seen.
    const late = await call(b, 'POST', '/v1/revocations', { subject: 'erin' })
    assert.equal(late.status, 201)
    const seen = snapVersion + 2
    await until(
      'both nodes trust the store again',
      async () => (await recoveredPast(a, seen)) && (await recoveredPast(b, seen)),
    )
    assert.ok((await ready(a)) && (await ready(b)))
    await watch()
    for (const node of [a, b]) {
      await until('erin is denied', async () => (await me(node, erin)).status === 401)
      assert.equal((await me(node, dave)).body.error.code, 'revoked')
      assert.equal((await me(node, bob)).status, 200)
    }
    const store = (await call(b, 'GET', '/v1/store')).body
    assert.deepEqual(store.node, store.store)
    const losses = metric(await (await b.api('/metrics')).text(), 'vigil_store_losses_total')
    assert.ok(losses >= 1)
  })
})
