import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createAdapter } from '@socket.io/redis-adapter'
import { Redis } from 'ioredis'
import { Server } from 'socket.io'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/logger.js'
import { startStandalone } from '../../src/standalone.js'
import { TEST_API_KEY } from '../helpers/enforcer.js'
import { dropPrefix, REDIS_URL } from '../helpers/redis.js'
import {
  call,
  createClients,
  edit,
  mint,
  revocationOf,
  startRealtimeNode,
  untilVersion,
  type RealtimeNode,
  once,
} from './helpers.js'

const tag = randomBytes(4).toString('hex')
const prefix = `{vigil-rt-${tag}}:`
const env = { REDIS_URL, VIGIL_REDIS_PREFIX: prefix, VIGIL_ISSUER: 'http://vigil.test' }

const clients = createClients()
const redisClients: Redis[] = []
let nodeA: RealtimeNode
let nodeB: RealtimeNode

/** Puts a node's socket.io server on the Redis adapter, as an app that broadcasts across nodes does. */
function useRedisAdapter(io: Server): Redis {
  const pub = new Redis(REDIS_URL)
  const sub = pub.duplicate()
  redisClients.push(pub, sub)
  // A key of our own, so parallel runs on the same Redis never hear each other's broadcasts.
  io.adapter(createAdapter(pub, sub, { key: `vigil-rt-io-${tag}` }))
  return pub
}

before(async () => {
  // Both nodes share one store prefix; only node A seeds it, node B follows its change log.
  nodeA = await startRealtimeNode({ env })
  nodeB = await startRealtimeNode({ env, seed: false })
  await untilVersion(nodeB, nodeA.enforcer.live.current().version)
  useRedisAdapter(nodeA.io!)
  useRedisAdapter(nodeB.io!)
})

after(async () => {
  clients.closeAll()
  await Promise.all([nodeA.close(), nodeB.close()])
  await dropPrefix(prefix)
  for (const r of redisClients) r.disconnect()
})

test('Vigil works alongside the Redis adapter: app broadcasts cross nodes and revocations still land', async () => {
  const alice = (await clients.connect(nodeB.url, (await mint(nodeA, 'alice')).access_token)).socket
  const bob = (await clients.connect(nodeB.url, (await mint(nodeA, 'bob')).access_token)).socket
  const carol = (await clients.connect(nodeA.url, (await mint(nodeA, 'carol')).access_token)).socket
  // The adapter has subscribed once every node sees every other node's sockets.
  for (let i = 0; i < 500 && (await nodeA.io!.fetchSockets()).length < 3; i++) {
    await new Promise((r) => setTimeout(r, 10))
  }
  assert.equal((await nodeA.io!.fetchSockets()).length, 3)

  const heard = [alice, bob, carol].map((s) => once(s, 'news'))
  nodeA.io!.emit('news', { n: 1 })
  for (const [news] of await Promise.all(heard)) assert.deepEqual(news, { n: 1 })

  assert.equal((await edit(alice)).ok, true)
  const settled = revocationOf(alice)
  const res = await call(nodeA, 'POST', '/v1/revocations', { subject: 'alice', reason: 'left' })
  assert.equal(res.status, 201)
  const [event, reason] = await settled
  assert.equal(event.reason, 'left')
  assert.equal(event.version, res.body.version)
  assert.equal(reason, 'io server disconnect')

  const next = [bob, carol].map((s) => once(s, 'news'))
  nodeA.io!.emit('news', { n: 2 })
  for (const [news] of await Promise.all(next)) assert.deepEqual(news, { n: 2 })
  assert.equal(alice.connected, false)
  // Bob is still enforced on node B after the adapter swap: reading is his, writing is not.
  assert.equal((await edit(bob)).error.code, 'forbidden')
  assert.equal(bob.connected, true)
})

test("draining a standalone node on the Redis adapter closes only its own sockets, not other nodes'", async () => {
  const parsed = loadConfig({
    ...env,
    PORT: '0',
    VIGIL_API_KEY: TEST_API_KEY,
    VIGIL_AUDIT_FILE: join(tmpdir(), `vigil-rt-audit-${tag}.log`),
    LOG_LEVEL: 'silent',
  })
  assert.ok(parsed.ok)
  const logger = createLogger({ level: 'silent', nodeId: `drained-${tag}` })
  const drained = await startStandalone(parsed.config, logger)
  const drainedPub = useRedisAdapter(drained.io)
  // A bare server on the same adapter, to broadcast once the drain is over.
  const bystander = new Server()
  useRedisAdapter(bystander)
  try {
    const own = (await clients.connect(drained.url, (await mint(nodeA, 'carol')).access_token))
      .socket
    const other = (await clients.connect(nodeB.url, (await mint(nodeA, 'bob')).access_token)).socket
    const ownClosed = once(own, 'disconnect')
    const otherClosed = once(other, 'disconnect').then(([reason]) => `disconnected: ${reason}`)
    await drained.drain(1000)
    assert.equal((await ownClosed)[0], 'io server disconnect')
    // Whatever the drained node published has reached Redis once its next command is answered;
    // node B hears later publications after it, so a broadcast from here on is a sync point.
    await drainedPub.ping()
    const outcome = Promise.race([once(other, 'news').then(() => 'news'), otherClosed])
    bystander.emit('news', { n: 3 })
    assert.equal(await outcome, 'news')
    assert.equal(other.connected, true)
    assert.equal((await edit(other)).error.code, 'forbidden')
  } finally {
    // The bystander has no engine to close; its Redis clients are closed with the others.
    await drained.drain(0).catch(() => {})
  }
})
