import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { Redis } from 'ioredis'
import {
  ENFORCED_NODE,
  VIGIL_BIN,
  startProcess,
  type NodeProcess,
  apiCaller,
  sharedNodeEnv,
} from '../helpers/process.js'
import { SEED_POLICY } from '../../server/test/helpers/enforcer.js'
import { dropPrefix } from '../../server/test/helpers/redis.js'

const { prefix: PREFIX, apiKey: API_KEY, env } = sharedNodeEnv('it')

let a: NodeProcess
let b: NodeProcess

const call = apiCaller(API_KEY)

before(async () => {
  // Node A is the real `vigil` bin; node B adds enforced app routes. Both share one Redis.
  ;[a, b] = await Promise.all([startProcess(VIGIL_BIN, env), startProcess(ENFORCED_NODE, env)])
  // The seed roles, no bindings: the test binds alice itself.
  const seeded = await call(a, 'PUT', '/v1/policy', { roles: SEED_POLICY.roles })
  assert.equal(seeded.status, 200)
})

after(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await dropPrefix(PREFIX)
})

test('a role change and a revocation made on node A are enforced by node B', async () => {
  const bound = await call(a, 'PUT', '/v1/subjects/alice/roles', { roles: ['editor'] })
  assert.equal(bound.status, 200)
  const session = await call(a, 'POST', '/v1/sessions', { sub: 'alice' })
  assert.equal(session.status, 201)
  const token: string = session.json.access_token

  const decided = await call(b, 'POST', '/v1/decisions', {
    token,
    action: 'doc:write',
    resource: 'doc/1',
  })
  assert.equal(decided.json.allow, true)
  assert.equal((await call(b, 'PUT', '/api/strong/docs/1', undefined, token)).status, 200)

  const stepped = await call(a, 'PUT', '/v1/subjects/alice/roles', { roles: ['viewer'] })
  assert.equal(stepped.status, 200)
  // Strong consistency: acknowledged on A means honoured on B, with no waiting.
  const strong = await call(b, 'PUT', '/api/strong/docs/1', undefined, token)
  assert.equal(strong.status, 403)
  assert.equal(strong.json.error.code, 'forbidden')
  // The fast path converges by tailing the log: wait for B to report the version, then check.
  await waitForVersion(b, stepped.json.version)
  assert.equal((await call(b, 'PUT', '/api/docs/1', undefined, token)).status, 403)
  assert.equal((await call(b, 'GET', '/api/docs/1', undefined, token)).status, 200)
  const read = await call(b, 'POST', '/v1/decisions', {
    token,
    action: 'doc:write',
    resource: 'doc/1',
  })
  assert.equal(read.json.allow, false)
  assert.equal(read.json.version, stepped.json.version)

  const revoked = await call(a, 'POST', '/v1/revocations', {
    subject: 'alice',
    reason: 'offboarded',
  })
  assert.equal(revoked.status, 201)
  const denied = await call(b, 'PUT', '/api/strong/docs/1', undefined, token)
  assert.equal(denied.status, 401)
  assert.equal(denied.json.error.code, 'revoked')
  assert.match(denied.json.error.message, /offboarded/)
  await waitForVersion(b, revoked.json.version)
  const me = await call(b, 'GET', '/v1/me', undefined, token)
  assert.equal(me.status, 401)
  assert.equal(me.json.error.code, 'revoked')
})

test('a strong route never allows once a step-down was acknowledged, across many flips', async () => {
  await call(a, 'DELETE', '/v1/revocations', { subject: 'bob' })
  await call(a, 'PUT', '/v1/subjects/bob/roles', { roles: ['editor'] })
  const token: string = (await call(a, 'POST', '/v1/sessions', { sub: 'bob' })).json.access_token
  for (let i = 0; i < 15; i++) {
    const up = await call(a, 'PUT', '/v1/subjects/bob/roles', { roles: ['editor'] })
    const allowed = await call(b, 'PUT', '/api/strong/docs/7', undefined, token)
    assert.equal(allowed.status, 200, `flip ${i}: editor`)
    assert.ok(allowed.json.version >= up.json.version)
    await call(a, 'PUT', '/v1/subjects/bob/roles', { roles: ['viewer'] })
    const denied = await call(b, 'PUT', '/api/strong/docs/7', undefined, token)
    assert.equal(denied.status, 403, `flip ${i}: viewer`)
  }
})

test('SIGTERM drains a node and it exits 0', async () => {
  const extra = await startProcess(VIGIL_BIN, env)
  assert.equal((await fetch(`${extra.url}/healthz`)).status, 200)
  assert.equal(await extra.stop('SIGTERM'), 0)
  assert.ok(extra.lines.some((l) => l.includes('"msg":"drained"')))
})

/** Polls B's readiness endpoint (bounded) until it decides with at least `version`. */
async function waitForVersion(node: NodeProcess, version: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const res = await fetch(`${node.url}/readyz`)
    const body = (await res.json()) as { version?: number }
    if ((body.version ?? -1) >= version) return
    await new Promise((r) => setImmediate(r))
  }
  assert.fail(`node never reached version ${version}`)
}
