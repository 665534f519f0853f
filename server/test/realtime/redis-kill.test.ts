import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import { Redis } from 'ioredis'
import type { Socket } from 'socket.io-client'
import { createRedisStore } from '../../src/store/redis-store.js'
import type { PolicyStore } from '../../src/store/types.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'
import { SEED_POLICY } from '../helpers/enforcer.js'
import { dropPrefix, REDIS_URL } from '../helpers/redis.js'
import {
  change,
  createClients,
  mint,
  revocationOf,
  startRealtimeNode,
  type RealtimeNode,
  once,
} from './helpers.js'

const tag = randomBytes(4).toString('hex')
const prefix = `{vigil-rt-${tag}}:`
const connectionName = `vigil-rt-${tag}`
const SUBJECTS = Array.from({ length: 20 }, (_, i) => `user-${String(i).padStart(2, '0')}`)

const clients = createClients()
let admin: Redis
let store: PolicyStore
let writer: PolicyStore
let node: RealtimeNode

before(async () => {
  admin = new Redis(REDIS_URL)
  store = createRedisStore({ url: REDIS_URL, prefix, connectionName, blockMs: 200 })
  writer = createRedisStore({ url: REDIS_URL, prefix, connectionName: `${connectionName}-writer` })
  node = await startRealtimeNode({ store, seed: false })
  await change(node, 'PUT', '/v1/policy', {
    ...SEED_POLICY,
    bindings: Object.fromEntries(SUBJECTS.map((s) => [s, ['viewer']])),
  })
})

after(async () => {
  clients.closeAll()
  await node.close()
  await store.close()
  await writer.close()
  await dropPrefix(prefix)
  admin.disconnect()
})

/** The ids of the node's connections to Redis: its command connection and its tail. */
async function nodeConnections(): Promise<{ command: string[]; tail: string[] }> {
  const list = (await admin.call('CLIENT', 'LIST')) as string
  const out = { command: [] as string[], tail: [] as string[] }
  for (const line of list.split('\n')) {
    const name = /(?:^| )name=(\S*)/.exec(line)?.[1]
    const id = /(?:^| )id=(\d+)/.exec(line)?.[1]
    if (id === undefined) continue
    if (name === connectionName) out.command.push(id)
    else if (name === `${connectionName}-tail`) out.tail.push(id)
  }
  return out
}

/**
 * Kills the node's command and tail connections, once both are up (ioredis reconnects on its
 * own, so after an earlier kill this waits — bounded — for the reconnection).
 */
async function killNodeConnections(): Promise<number> {
  let conns = await nodeConnections()
  for (let i = 0; i < 400 && (conns.command.length === 0 || conns.tail.length === 0); i++) {
    await new Promise((r) => setTimeout(r, 10))
    conns = await nodeConnections()
  }
  const ids = [...conns.command, ...conns.tail]
  for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id)
  return ids.length
}

test('every socket of a burst of revocations is revoked while the node loses its Redis connections', async () => {
  const sockets: Socket[] = []
  for (const sub of SUBJECTS) {
    sockets.push((await clients.connect(node.url, (await mint(node, sub)).access_token)).socket)
  }
  const settled = sockets.map((s) => revocationOf(s))
  const versions: number[] = []
  let killed = 0
  for (const [i, sub] of SUBJECTS.entries()) {
    const res = await writer.apply({
      type: 'revoke',
      target: { kind: 'subject', subject: sub },
      reason: `burst-${i}`,
    })
    assert.ok(res.ok, JSON.stringify(res))
    versions.push(res.version)
    if (i === 4 || i === 11) killed += await killNodeConnections()
  }
  assert.ok(killed >= 4, `killed the node's command and tail connections twice (${killed})`)

  const outcomes = await Promise.all(settled)
  for (const [i, [event, reason]] of outcomes.entries()) {
    assert.equal(event.reason, `burst-${i}`, `socket ${i} was told why`)
    assert.ok(event.version >= versions[i]!, `socket ${i} was told a version that includes it`)
    assert.equal(reason, 'io server disconnect')
  }
  assert.equal(node.enforcer.registry.size, 0)
})

test(
  'a node whose Redis is unreachable still closes, and closes its sockets',
  { timeout: 20_000 },
  async () => {
    // The failure this guards against is a close() that never resolves, hence the test timeout.
    const proxy = await startTcpProxy(REDIS_URL)
    const cutStore = createRedisStore({ url: proxy.url, prefix, blockMs: 100 })
    const cutNode = await startRealtimeNode({
      store: cutStore,
      env: { VIGIL_MAX_STALENESS_MS: '400' },
      seed: false,
    })
    try {
      const { socket } = await clients.connect(
        cutNode.url,
        (await mint(cutNode, 'alice')).access_token,
      )
      proxy.cut()
      for (let i = 0; i < 2000 && (await fetch(`${cutNode.url}/readyz`)).status !== 503; i++) {
        await new Promise((r) => setTimeout(r, 5))
      }
      assert.equal((await fetch(`${cutNode.url}/readyz`)).status, 503)
      const closed = once(socket, 'disconnect')
      await cutNode.close()
      assert.equal((await closed)[0], 'io server disconnect')
    } finally {
      await cutStore.close()
      await proxy.close()
    }
  },
)
