import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { createServiceClient } from '@vigil-enforcer/client/service'
import { startNode, type TestNode } from '../helpers/enforcer.js'
import { expectError, expectJson } from './helpers.js'

/**
 * A real large glob policy at the document's glob cap: ten roles of 1,000 glob permissions each,
 * all bound to one subject, so every decision for it that matches nothing tries 10,000 globs.
 */
function heavyPolicy() {
  const roles: Record<string, { permissions: { action: string; resource: string }[] }> = {}
  for (let r = 0; r < 10; r++) {
    roles[`heavy${r}`] = {
      permissions: Array.from({ length: 1000 }, (_, i) => ({
        action: `*:${r}-${i}:*`,
        resource: `*/${i}/*`,
      })),
    }
  }
  return { roles, bindings: { mallory: Object.keys(roles) } }
}

/** 1,000 queries that each scan every glob: the action matches none of them. */
const batch = Array.from({ length: 1000 }, (_, i) => ({
  subject: 'mallory',
  action: `doc:read:${'x'.repeat(200)}`,
  resource: `doc/${i}`,
}))

async function heavyNode(budgetMs: number): Promise<TestNode> {
  const node = await startNode({ env: { VIGIL_DECISION_BUDGET_MS: String(budgetMs) } })
  await expectJson(await node.api('/v1/policy', { method: 'PUT', json: heavyPolicy() }))
  return node
}

describe('a decision batch yields to the event loop', () => {
  let node: TestNode
  before(async () => {
    node = await heavyNode(60_000)
  })
  after(() => node.close())

  it('/healthz answers and setImmediate probes run while a heavy batch is being decided', async () => {
    // Counts decisions on both paths of the authorizer, whichever the batch takes.
    const authorizer = node.enforcer.authorizer
    const decideNow = authorizer.authorizeNow.bind(authorizer)
    const decideLater = authorizer.authorize.bind(authorizer)
    let decided = 0
    let started!: () => void
    const batchStarted = new Promise<void>((resolve) => (started = resolve))
    const count = (): void => {
      if (decided++ === 0) started()
    }
    authorizer.authorizeNow = (...args) => (count(), decideNow(...args))
    authorizer.authorize = (...args) => (count(), decideLater(...args))
    const order: string[] = []
    const delay = monitorEventLoopDelay({ resolution: 1 })
    try {
      const t0 = performance.now()
      const answered = node
        .api('/v1/decisions', { method: 'POST', json: batch })
        .then(async (res) => {
          order.push('batch')
          return expectJson<{ allow: boolean }[]>(res)
        })
      await batchStarted
      delay.enable()
      // A probe on the check phase: it can run only when the batch hands the loop back.
      const seenMidBatch: number[] = []
      const probe = (): void => {
        if (decided > 0 && decided < batch.length) seenMidBatch.push(decided)
        if (!order.includes('batch')) setImmediate(probe)
      }
      setImmediate(probe)
      const health = node.api('/healthz', { auth: null }).then((res) => {
        order.push('healthz')
        return res.status
      })
      const [answers, status] = await Promise.all([answered, health])
      const batchMs = performance.now() - t0
      delay.disable()

      assert.equal(answers.length, batch.length)
      assert.ok(answers.every((a) => a.allow === false))
      assert.equal(status, 200)
      assert.deepEqual(order, ['healthz', 'batch'], '/healthz answered before the batch finished')
      assert.ok(seenMidBatch.length > 1, `probes ran mid-batch ${seenMidBatch.length} times`)
      assert.ok(new Set(seenMidBatch).size > 1, 'the probes saw the batch progress between runs')
      // The longest the loop was held is a small part of the batch, not all of it.
      const maxMs = delay.max / 1e6
      assert.ok(maxMs < batchMs / 4, `longest loop delay ${maxMs} ms in a ${batchMs} ms batch`)
    } finally {
      authorizer.authorizeNow = decideNow
      authorizer.authorize = decideLater
    }
  })
})

describe('a decision batch has a budget of decision time', () => {
  let node: TestNode
  before(async () => {
    node = await heavyNode(20)
  })
  after(() => node.close())

  it('a batch past its budget stops with 413 budget_exceeded and the answers it reached', async () => {
    const res = await node.api('/v1/decisions', { method: 'POST', json: batch })
    const error = await expectError(res, 413, 'budget_exceeded')
    const details = error.details as unknown as { answered: number; answers: unknown[] }
    assert.ok(details.answered > 0 && details.answered < batch.length, `${details.answered}`)
    assert.equal(details.answers.length, details.answered)
  })

  it('a single query is still decided however heavy the policy', async () => {
    const res = await node.api('/v1/decisions', { method: 'POST', json: batch[0] })
    assert.equal((await expectJson<{ allow: boolean }>(res)).allow, false)
  })

  it('the service SDK sends the rest of a batch past its budget until every query is answered', async () => {
    const client = createServiceClient({
      url: node.url,
      apiKey: node.enforcer.config.apiKey,
      transport: 'http',
    })
    try {
      const answers = await client.decide(batch)
      assert.equal(answers.length, batch.length)
      assert.ok(answers.every((a) => a.allow === false && a.reason === 'no_matching_permission'))
    } finally {
      client.close()
    }
  })
})

describe('glob patterns are capped', () => {
  let node: TestNode
  before(async () => {
    node = await startNode()
  })
  after(() => node.close())

  const globs = (n: number, tag = '') =>
    Array.from({ length: n }, (_, i) => ({ action: `a${tag}${i}:*`, resource: 'r' }))

  it('a role with more than 1,000 glob permissions is refused naming its permissions', async () => {
    const json = { roles: { wide: { permissions: globs(1001) } } }
    const error = await expectError(
      await node.api('/v1/policy', { method: 'PUT', json }),
      400,
      'invalid_policy',
    )
    assert.ok(error.details?.some((d) => d.path === 'roles.wide.permissions'))
    await expectJson(
      await node.api('/v1/policy', {
        method: 'PUT',
        json: { roles: { ok: { permissions: globs(1000) } } },
      }),
    )
  })

  it('a rule with more than 100 glob patterns is refused', async () => {
    const rule = {
      id: 'wide',
      effect: 'deny',
      subjects: ['*'],
      actions: Array.from({ length: 100 }, (_, i) => `a${i}:*`),
      resources: ['*'],
    }
    const res = await node.api('/v1/policy/changes', {
      method: 'POST',
      json: { type: 'rule.put', rule },
    })
    const error = await expectError(res, 400, 'invalid_request')
    assert.match(error.message, /at most 100 patterns with a \*/)
  })

  it('a pattern with more than 16 stars is refused', async () => {
    const json = { roles: { r: { permissions: [{ action: 'a*'.repeat(17), resource: 'r' }] } } }
    const error = await expectError(
      await node.api('/v1/policy', { method: 'PUT', json }),
      400,
      'invalid_policy',
    )
    assert.ok(
      error.details?.some((d) => /at most 16 \*/.test(d.message)),
      JSON.stringify(error),
    )
  })

  it('a document with more than 10,000 glob patterns is refused with 413 policy_too_large', async () => {
    const roles = Object.fromEntries(
      Array.from({ length: 11 }, (_, r) => [`r${r}`, { permissions: globs(1000, `-${r}-`) }]),
    )
    const error = await expectError(
      await node.api('/v1/policy', { method: 'PUT', json: { roles } }),
      413,
      'policy_too_large',
    )
    assert.match(error.message, /at most 10,000 patterns with a \*/)
  })

  it('a role.put that would take the document past 10,000 glob patterns is refused', async () => {
    const roles = Object.fromEntries(
      Array.from({ length: 10 }, (_, r) => [`r${r}`, { permissions: globs(1000, `-${r}-`) }]),
    )
    await expectJson(await node.api('/v1/policy', { method: 'PUT', json: { roles } }))
    const put = (role: string, n: number) =>
      node.api('/v1/policy/changes', {
        method: 'POST',
        json: { type: 'role.put', role, definition: { permissions: globs(n, role) } },
      })
    await expectError(await put('one-more', 1), 413, 'policy_too_large')
    // Replacing a role in place counts its old globs out.
    await expectJson(await put('r0', 1000))
  })
})
