import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { performance } from 'node:perf_hooks'
import { createListeningClock } from '../src/listening-clock.js'
import { createRedisStore } from '../src/store/redis-store.js'
import { expectJson } from './api/helpers.js'
import { SEED_POLICY, startNode, type TestNode } from './helpers/enforcer.js'
import { REDIS_URL, dropPrefix, testPrefix } from './helpers/redis.js'

/** Blocks this process's event loop for `ms` with real work, the way a heavy request would. */
function blockLoop(ms: number): void {
  const until = performance.now() + ms
  let x = 0
  while (performance.now() < until) x += Math.sqrt(x + 1)
  assert.ok(x > 0)
}

/** Resolves after the ticker has certainly run at least once more. */
const nextTicks = () => new Promise((resolve) => setTimeout(resolve, 60))

describe('the listening clock', () => {
  it('stands still while the event loop is blocked, in progress and after', async () => {
    const clock = createListeningClock()
    try {
      await nextTicks()
      const before = clock.now()
      const wallBefore = performance.now()
      blockLoop(600)
      // Read in the same turn as the block: the ticker has not run since it started.
      const during = clock.now() - before
      assert.ok(during < 100, `a block in progress counts as listening for ${during} ms`)
      await nextTicks()
      const afterwards = clock.now() - before
      const wall = performance.now() - wallBefore
      assert.ok(wall >= 600)
      assert.ok(afterwards < wall - 500, `${afterwards} ms of ${wall} ms counted after the block`)
    } finally {
      clock.stop()
    }
  })

  it('runs on with the wall clock while the loop is free', async () => {
    const clock = createListeningClock()
    try {
      const before = clock.now()
      const wallBefore = performance.now()
      for (let i = 0; i < 5; i++) await nextTicks()
      const listened = clock.now() - before
      const wall = performance.now() - wallBefore
      assert.ok(listened > wall / 2, `${listened} ms of ${wall} ms counted on a free loop`)
    } finally {
      clock.stop()
    }
  })
})

describe("the node's own event-loop lag is not store staleness", () => {
  const prefix = testPrefix('lag')
  let node: TestNode
  let token: string

  before(async () => {
    node = await startNode({
      env: { VIGIL_MAX_STALENESS_MS: '300' },
      store: createRedisStore({ url: REDIS_URL, prefix, blockMs: 100 }),
    })
    await expectJson(await node.api('/v1/policy', { method: 'PUT', json: SEED_POLICY }))
    const res = await node.api('/v1/sessions', { method: 'POST', json: { sub: 'alice' } })
    token = (await expectJson<{ access_token: string }>(res, 201)).access_token
    // The token is verified once, so the decision after the block needs no await.
    assert.equal(
      (await node.enforcer.authorizer.authorize(token, 'doc:read', 'doc/1', { transport: 'api' }))
        .ok,
      true,
    )
  })
  after(async () => {
    await node.close()
    await node.enforcer.store.close()
    await dropPrefix(prefix)
  })

  it('a loop blocked for longer than the staleness bound, with Redis healthy, still decides', async () => {
    blockLoop(1000)
    // The first thing to run after the block, before the tail's waiting answer is read.
    assert.equal(node.enforcer.live.isStale(), false)
    const decided = node.enforcer.authorizer.authorizeNow(token, 'doc:read', 'doc/1', {
      transport: 'api',
    })
    assert.equal(decided?.ok, true, decided && !decided.ok ? decided.code : 'no decision')
  })
})
