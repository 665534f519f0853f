import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import { Redis } from 'ioredis'
import { VIGIL_BIN, apiCaller, startProcess, type NodeProcess } from '../helpers/process.js'
import { startRedisServer, stopAll, until } from '../../server/test/helpers/redis-topology.js'
import {
  failedOver,
  startSentinelSetup,
  type SentinelSetup,
} from '../../server/test/helpers/redis-sentinel.js'

// Primary failover, for real: a primary, a replica and three sentinels this file starts, two
// `vigil` processes configured only by REDIS_SENTINELS, a stream of revocations, and kill -9 of
// the primary in the middle of it. With VIGIL_REDIS_WAIT_REPLICAS=1 no acknowledged revocation
// may be missing from the promoted replica.
const API_KEY = `it-${randomBytes(16).toString('hex')}`
const PREFIX = `{vigil-sf-${randomBytes(4).toString('hex')}}:`
const call = apiCaller(API_KEY)

let setup: SentinelSetup
let a: NodeProcess
let b: NodeProcess

before(async () => {
  setup = await startSentinelSetup({ downAfterMs: 500, failoverTimeoutMs: 2000 })
  const env = {
    ...setup.env,
    VIGIL_API_KEY: API_KEY,
    VIGIL_ISSUER: 'http://vigil.test',
    VIGIL_REDIS_PREFIX: PREFIX,
    VIGIL_REDIS_WAIT_REPLICAS: '1',
    VIGIL_REDIS_WAIT_TIMEOUT_MS: '300',
    VIGIL_MAX_STALENESS_MS: '500',
  }
  ;[a, b] = await Promise.all([startProcess(VIGIL_BIN, env), startProcess(VIGIL_BIN, env)])
})

after(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await stopAll()
})

interface Outcome {
  subject: string
  status: number
  code?: string
  applied?: boolean
}

/** Revokes `s<n>-<i>` through `node`, one at a time, until `stop()`; every answer is kept. */
async function revokeStream(node: NodeProcess, tag: string, stop: () => boolean) {
  const out: Outcome[] = []
  for (let i = 0; i < 5000 && !stop(); i++) {
    const subject = `${tag}-${i}`
    const res = await call(node, 'POST', '/v1/revocations', { subject })
    out.push({
      subject,
      status: res.status,
      ...(res.json?.error ? { code: res.json.error.code } : {}),
      ...(res.json?.error?.details?.applied ? { applied: true } : {}),
    })
  }
  return out
}

const metric = (text: string, name: string): number =>
  Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN)

test('a primary killed mid-stream loses no acknowledged revocation; nodes fail closed, then resume', async () => {
  const watcher = (await call(a, 'POST', '/v1/sessions', { sub: 'watcher' })).json.access_token
  assert.equal((await call(b, 'GET', '/v1/me', undefined, watcher)).status, 200)

  // The writers and a reader on node B, all running through the failover.
  let stopWriters = false
  let stopWatching = false
  const streams = Promise.all([
    revokeStream(a, 'a', () => stopWriters),
    revokeStream(b, 'b', () => stopWriters),
  ])
  const seen: { status: number; code?: string }[] = []
  let outageMetrics = ''
  const watching = (async () => {
    for (let i = 0; i < 20_000 && !stopWatching; i++) {
      const res = await call(b, 'GET', '/v1/me', undefined, watcher)
      seen.push({ status: res.status, ...(res.json?.error ? { code: res.json.error.code } : {}) })
      if (res.status === 503 && !outageMetrics) {
        outageMetrics = await (await fetch(`${b.url}/metrics`)).text()
      }
      await new Promise((r) => setTimeout(r, 10))
    }
  })()

  // Let some revocations be acknowledged, then crash the primary.
  const oldPort = setup.primary.port
  const primary = setup.primary.client()
  await until('20 acknowledged revocations', async () => {
    const n = await primary.hlen(`${PREFIX}doc:rev:subjects`)
    return n >= 20
  }).finally(() => primary.disconnect())
  await setup.primary.kill()
  const newPort = await failedOver(setup, oldPort)
  // Both nodes answer again (not stale) on the promoted replica.
  await until('node B to decide again', async () => seen.at(-1)?.status === 200, 400).catch(
    async (err: Error) => {
      const ready = await (await fetch(`${b.url}/readyz`)).text()
      const last = b.lines.filter((l) => /"level":(40|50)/.test(l)).slice(-5)
      throw new Error(
        `${err.message}; last answers ${JSON.stringify(seen.slice(-3))}; readyz ${ready}; ${last.join('\n')}`,
      )
    },
  )
  stopWriters = true
  const [fromA, fromB] = await streams
  stopWatching = true
  await watching

  // Nothing acknowledged is missing from the new primary's document.
  const promoted = new Redis(newPort, '127.0.0.1', { maxRetriesPerRequest: 1 })
  promoted.on('error', () => {})
  after(() => promoted.disconnect())
  const held = new Set(await promoted.hkeys(`${PREFIX}doc:rev:subjects`))
  const outcomes = [...fromA, ...fromB]
  const acked = outcomes.filter((o) => o.status === 201)
  const lost = acked.filter((o) => !held.has(o.subject))
  assert.ok(acked.length >= 10, `only ${acked.length} acknowledged`)
  assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged revocations lost`)
  // Every refusal was a clear 503; one that says applied may be in either document.
  for (const o of outcomes.filter((x) => x.status !== 201)) {
    assert.equal(o.status, 503, JSON.stringify(o))
    assert.equal(o.code, 'store_unavailable', JSON.stringify(o))
  }

  // In between, node B failed closed (never admitted on a store it could not hear) and said so.
  const closed = seen.filter((s) => s.status !== 200)
  assert.ok(closed.length > 0, 'node B never failed closed during the failover')
  for (const s of closed) {
    assert.equal(s.status, 503, JSON.stringify(s))
    assert.ok(['policy_stale', 'store_reset'].includes(s.code!), JSON.stringify(s))
  }
  assert.equal(metric(outageMetrics, 'vigil_store_up'), 0)
  const recovered = await (await fetch(`${b.url}/metrics`)).text()
  assert.equal(metric(recovered, 'vigil_store_up'), 1)
  assert.ok(metric(recovered, 'vigil_store_outages_total') >= 1)
  assert.equal(metric(recovered, 'vigil_policy_stale'), 0)

  // With no replica left, a change cannot be confirmed: it is refused, applied, never acked.
  const alone = await call(a, 'POST', '/v1/revocations', { subject: 'alone' })
  assert.equal(alone.status, 503)
  assert.equal(alone.json.error.details.applied, true)
  // The crashed server comes back, empty, as the new primary's replica (as an operator re-adds
  // it; the sentinels would convert it themselves, but only after ~8 s), and acknowledged
  // writes resume — enforced across nodes as before.
  await startRedisServer({ port: oldPort, replicaOf: newPort })
  // A replica that just joined may take its next periodic ACK (up to a second) to confirm a
  // first WAIT: wait for one confirmation of our own before timing the nodes' 300 ms ones.
  await until('the returned replica to confirm a write', async () => {
    await promoted.set(`${PREFIX}probe`, '1')
    return (await promoted.wait(1, 1000)) >= 1
  })
  const late = (await call(b, 'POST', '/v1/sessions', { sub: 'late' })).json.access_token
  assert.equal((await call(b, 'GET', '/v1/me', undefined, late)).status, 200)
  const revoked = await call(a, 'POST', '/v1/revocations', { subject: 'late' })
  assert.equal(revoked.status, 201, JSON.stringify(revoked.json))
  await until('node B to enforce the revocation made on A', async () => {
    const me = await call(b, 'GET', '/v1/me', undefined, late)
    return me.status === 401 && me.json.error.code === 'revoked'
  })
  assert.ok(new Set(await promoted.hkeys(`${PREFIX}doc:rev:subjects`)).has('late'))
})
