import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { io } from 'socket.io-client'
import {
  createServiceClient,
  type ServiceClient,
  type ServiceEventMap,
  type ServiceEventName,
} from '@vigil-enforcer/client/service'
import {
  SEED_POLICY,
  TEST_API_KEY,
  startNode,
  type TestNode,
} from '../../server/test/helpers/enforcer.js'
import { dropPrefix, REDIS_URL, testPrefix } from '../../server/test/helpers/redis.js'
import { createMemoryStore } from '../../server/src/store/memory-store.js'
import type { PolicyStore } from '../../server/src/store/types.js'
import { startTcpProxy } from '../../server/test/helpers/tcp-proxy.js'

const PREFIX = testPrefix('svc')
const redisEnv = { REDIS_URL, VIGIL_REDIS_PREFIX: PREFIX }

after(async () => {
  await dropPrefix(PREFIX)
})

/** A service client that retries fast, closed when the test ends. */
function serviceClient(t: { after(fn: () => void): void }, url: string): ServiceClient {
  const client = createServiceClient({
    url,
    apiKey: TEST_API_KEY,
    socket: { reconnectionDelay: 20, reconnectionDelayMax: 100 },
  })
  t.after(() => client.close())
  return client
}

async function node(
  t: { after(fn: () => Promise<void>): void },
  env = {},
  store?: PolicyStore,
): Promise<TestNode> {
  const n = await startNode({ realtime: { events: {} }, env, ...(store ? { store } : {}) })
  t.after(() => n.close())
  return n
}

/** The next `event` the client emits. */
function next<E extends ServiceEventName>(
  client: ServiceClient,
  event: E,
): Promise<ServiceEventMap[E]> {
  return new Promise((resolve) => {
    const off = client.on(event, (payload) => {
      off()
      resolve(payload)
    })
  })
}

type FeedEvent = { kind: 'revoked' | 'step-down' | 'step-up'; version: number }

/** Records every feed event; `count(n)` resolves once `n` have arrived. */
function record(client: ServiceClient) {
  const events: FeedEvent[] = []
  let wanted = Number.POSITIVE_INFINITY
  let reached: () => void = () => {}
  for (const kind of ['revoked', 'step-down', 'step-up'] as const) {
    client.on(kind, (e) => {
      events.push({ kind, version: e.version })
      if (events.length >= wanted) reached()
    })
  }
  return {
    events,
    count(n: number): Promise<void> {
      wanted = n
      return events.length >= n ? Promise.resolve() : new Promise((r) => (reached = r))
    },
  }
}

async function apply(n: TestNode, method: string, path: string, json: unknown): Promise<number> {
  const res = await n.api(path, { method, json })
  const body = (await res.json()) as { version: number }
  assert.ok(res.ok, `${method} ${path}: ${JSON.stringify(body)}`)
  return body.version
}

/** A step-down, a step-up and a revocation of alice: three changes, three feed events. */
async function threeChanges(n: TestNode): Promise<number[]> {
  return [
    await apply(n, 'PUT', '/v1/subjects/alice/roles', { roles: ['viewer'] }),
    await apply(n, 'PUT', '/v1/subjects/alice/roles', { roles: ['editor'] }),
    await apply(n, 'POST', '/v1/revocations', { subject: 'alice', reason: 'offboarded' }),
  ]
}

test('a service subscribed to alice receives her revocation; one subscribed to bob does not', async (t) => {
  const n = await node(t)
  await apply(n, 'PUT', '/v1/policy', SEED_POLICY)
  const forAlice = serviceClient(t, n.url)
  const forBob = serviceClient(t, n.url)
  await Promise.all([forAlice.watch({ subjects: ['alice'] }), forBob.watch({ subjects: ['bob'] })])
  const bobs = record(forBob)

  const revoked = next(forAlice, 'revoked')
  const version = await apply(n, 'POST', '/v1/revocations', { subject: 'alice', reason: 'gone' })
  const event = await revoked
  assert.equal(event.subject, 'alice')
  assert.equal(event.reason, 'gone')
  assert.equal(event.version, version)
  assert.equal(typeof event.at, 'number')

  // The node pushed to both subscriptions at once; a round trip on bob's socket that answers at
  // that version proves nothing for him was on its way.
  assert.equal(forBob.connected, true)
  const answer = await forBob.decide({ subject: 'bob', action: 'doc:read', resource: 'doc/1' })
  assert.ok(answer.version >= version)
  assert.deepEqual(bobs.events, [])
  assert.equal(forAlice.lastVersion, version)
})

test('a service disconnected while three changes are applied receives exactly those three, in order', async (t) => {
  const n = await node(t, redisEnv)
  await apply(n, 'PUT', '/v1/policy', SEED_POLICY)
  const proxy = await startTcpProxy(n.url)
  t.after(() => proxy.close())
  const client = serviceClient(t, proxy.url)
  const feed = record(client)
  const { version: before } = await client.watch({ subjects: ['alice'] })

  const dropped = next(client, 'disconnect')
  proxy.cut()
  await dropped
  const versions = await threeChanges(n)
  const resumed = next(client, 'connect')
  proxy.restore()

  assert.equal((await resumed).since, before)
  await feed.count(3)
  const kinds = ['step-down', 'step-up', 'revoked']
  assert.deepEqual(
    feed.events,
    versions.map((version, i) => ({ kind: kinds[i], version })),
  )
  // None twice: an acknowledged round trip after the replay brings nothing more.
  await client.decide({ subject: 'alice', action: 'doc:read', resource: 'doc/1' })
  assert.equal(feed.events.length, 3)
  assert.equal(client.lastVersion, versions[2])
})

test('a service that reconnects to a different node still receives the three changes it missed', async (t) => {
  const a = await node(t, redisEnv)
  const b = await node(t, redisEnv)
  await apply(a, 'PUT', '/v1/policy', SEED_POLICY)
  const proxy = await startTcpProxy(a.url)
  t.after(() => proxy.close())
  const client = serviceClient(t, proxy.url)
  const feed = record(client)
  await client.watch({ subjects: ['alice'] })

  const dropped = next(client, 'disconnect')
  proxy.cut()
  await dropped
  const versions = await threeChanges(a)
  proxy.restore(b.url)

  await feed.count(3)
  assert.deepEqual(
    feed.events.map((e) => e.version),
    versions,
  )
  await client.decide({ subject: 'alice', action: 'doc:read', resource: 'doc/1' })
  assert.equal(feed.events.length, 3)
})

test('a service resuming from before a node’s history gets the missed revocations from the store’s log, then a resync', async (t) => {
  const a = await node(t, redisEnv)
  await apply(a, 'PUT', '/v1/policy', SEED_POLICY)
  const proxy = await startTcpProxy(a.url)
  t.after(() => proxy.close())
  const client = serviceClient(t, proxy.url)
  const { version: before } = await client.watch({ subjects: ['alice'] })

  const dropped = next(client, 'disconnect')
  proxy.cut()
  await dropped
  const versions = await threeChanges(a)
  // A node started after the changes never saw them; its store's change log did.
  const late = await node(t, redisEnv)
  const revoked = next(client, 'revoked')
  const resync = next(client, 'resync')
  proxy.restore(late.url)

  const event = await revoked
  assert.equal(event.subject, 'alice')
  assert.equal(event.reason, 'offboarded')
  assert.equal(event.version, versions[2])
  // The two role changes need the policy as it was then, which the late node never held.
  const told = await resync
  assert.equal(told.reason, 'history_unavailable')
  assert.ok(told.version >= versions[2]! && before < versions[0]!)
  assert.equal(client.lastVersion, told.version)
})

/** The store as one node sees it, with a gate that holds back the changes it tails. */
function laggingView(store: PolicyStore) {
  let release: () => void = () => {}
  let gate = Promise.resolve()
  const view = Object.create(store) as PolicyStore
  view.tail = async function* (from, options) {
    for await (const event of store.tail(from, options)) {
      await gate
      yield event
    }
  }
  return {
    store: view,
    hold: () => void (gate = new Promise((resolve) => (release = resolve))),
    release: () => release(),
  }
}

test('a node that is behind a resuming service does not send it changes it already has', async (t) => {
  const shared = createMemoryStore()
  const lagging = laggingView(shared)
  const a = await node(t, {}, shared)
  const b = await node(t, {}, lagging.store)
  t.after(() => lagging.release())
  await apply(a, 'PUT', '/v1/policy', SEED_POLICY)
  lagging.hold()
  const versions = await threeChanges(a)

  // The service saw those three on node A; it now resumes on node B, which has not yet.
  const socket = io(`${b.url}/services`, {
    auth: { apiKey: TEST_API_KEY },
    transports: ['websocket'],
  })
  t.after(() => void socket.close())
  const received: number[] = []
  let fourth: () => void = () => {}
  const arrived = new Promise<void>((resolve) => (fourth = resolve))
  for (const name of ['vigil:revoked', 'vigil:step-down', 'vigil:step-up', 'vigil:resync']) {
    socket.on(name, (e: { version: number }) => {
      received.push(e.version)
      if (e.version > versions[2]!) fourth()
    })
  }
  const ack = await socket.emitWithAck('vigil:subscribe', {
    subjects: ['alice', 'bob'],
    since: versions[2],
  })
  assert.ok(ack.data.version < versions[0]!, 'node B is behind')
  const later = await apply(a, 'PUT', '/v1/subjects/bob/roles', { roles: [] })
  lagging.release()
  await arrived
  assert.deepEqual(received, [later])
})

test('a service with a wrong API key is refused with unauthorized', async (t) => {
  const n = await node(t)
  const client = createServiceClient({ url: n.url, apiKey: 'not-the-key-0123456789abcdef' })
  t.after(() => client.close())
  const error = next(client, 'error')
  await assert.rejects(client.watch({ all: true }), { code: 'unauthorized' })
  assert.equal((await error).code, 'unauthorized')
  await assert.rejects(client.decide({ subject: 'alice', action: 'doc:read', resource: 'doc/1' }), {
    code: 'unauthorized',
  })
})
