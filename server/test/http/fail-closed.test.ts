import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { Redis } from 'ioredis'
import { createRedisStore } from '../../src/store/redis-store.js'
import type { PolicyStore } from '../../src/store/types.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'
import { SEED_POLICY, startNode, type TestNode } from '../helpers/enforcer.js'
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis.js'

const prefix = testPrefix('fc')
let proxy: TcpProxy
let writer: PolicyStore
let node: TestNode
let alice: string
let bob: string

before(async () => {
  proxy = await startTcpProxy(REDIS_URL)
  writer = createRedisStore({ url: REDIS_URL, prefix })
  node = await startNode({
    env: { VIGIL_MAX_STALENESS_MS: '400' },
    store: createRedisStore({ url: proxy.url, prefix, blockMs: 100 }),
    routes(app, vigil) {
      app.put(
        '/api/docs/:id',
        vigil.enforce('doc:write', (r) => `doc/${r.params['id']}`),
        (_q, s) => {
          s.json({ ok: true })
        },
      )
    },
  })
  assert.equal((await node.api('/v1/policy', { method: 'PUT', json: SEED_POLICY })).status, 200)
  const mint = async (sub: string) =>
    ((await (await node.api('/v1/sessions', { method: 'POST', json: { sub } })).json()) as any)
      .access_token as string
  alice = await mint('alice')
  bob = await mint('bob')
})

after(async () => {
  await node.close()
  await node.enforcer.store.close()
  await proxy.close()
  await dropPrefix(prefix)
  await writer.close()
})

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  // Bounded: 400 ms staleness bound, 100 ms XREAD block; a few seconds is plenty even when loaded.
  for (let i = 0; i < 2000; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 5))
  }
  assert.fail(`timed out waiting for ${what}`)
}

test('a node cut off from Redis beyond the bound denies with policy_stale, then recovers without missing a change', async () => {
  const put = (token: string) => node.api('/api/docs/1', { method: 'PUT', auth: token })
  assert.equal((await put(alice)).status, 200)

  proxy.cut()
  await until(async () => (await fetch(`${node.url}/readyz`)).status === 503, 'readyz 503')
  const denied = await put(alice)
  assert.equal(denied.status, 503)
  assert.equal(((await denied.json()) as any).error.code, 'policy_stale')
  const metrics = await (await fetch(`${node.url}/metrics`)).text()
  assert.match(metrics, /vigil_policy_stale\{[^}]*\} 1/)
  assert.match(metrics, /vigil_policy_stale_denials_total\{[^}]*transport="http"[^}]*\} [1-9]/)
  await until(
    async () => node.logs.lines.some((l) => l.includes('denying everything (policy_stale)')),
    'the fail-closed log line',
  )

  // Changes made while the node is cut off must all arrive once it reconnects.
  const stepDown = await writer.apply({
    type: 'subject.roles',
    subject: 'alice',
    roles: ['viewer'],
  })
  assert.ok(stepDown.ok, JSON.stringify(stepDown))
  assert.ok(
    (await writer.apply({ type: 'revoke', target: { kind: 'subject', subject: 'bob' } })).ok,
  )
  const target = await writer.version()

  proxy.restore()
  await until(async () => (await fetch(`${node.url}/readyz`)).status === 200, 'readyz 200')
  await until(async () => node.enforcer.live.current().version >= target, 'catch-up')
  const stepped = await put(alice)
  assert.equal(stepped.status, 403)
  assert.equal(((await stepped.json()) as any).error.code, 'forbidden')
  const revoked = await put(bob)
  assert.equal(revoked.status, 401)
  assert.equal(((await revoked.json()) as any).error.code, 'revoked')
  await until(
    async () => node.logs.lines.some((l) => l.includes('policy store reachable again')),
    'the recovery log line',
  )
})
