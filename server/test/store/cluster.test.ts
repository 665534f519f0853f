import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import { Cluster } from 'ioredis'
import { createRedisStore } from '../../src/store/redis-store.js'
import { createRedisClient } from '../../src/store/redis-connection.js'
import { keySlot } from '../../src/store/redis-wait.js'
import type { PolicyStore } from '../../src/store/types.js'
import { testPolicyStore } from './contract.js'
import { startCluster, stopAll, type ClusterSetup } from '../helpers/redis-topology.js'

// The whole store contract on a real 3-master Redis Cluster this file starts. Each store gets a
// fresh hash tag, so the stores of one run land on different masters' slots.
let cluster: ClusterSetup
const opened: PolicyStore[] = []
let current = { prefix: '', name: '', logLimit: undefined as number | undefined }

before(async () => {
  cluster = await startCluster(3)
})
after(async () => {
  await stopAll()
})

function open(): PolicyStore {
  const store = createRedisStore({
    connection: {
      kind: 'cluster',
      nodes: cluster.masters.map((m) => ({ host: '127.0.0.1', port: m.port })),
    },
    prefix: current.prefix,
    connectionName: current.name,
    blockMs: 200,
    ...(current.logLimit === undefined ? {} : { logMaxLength: current.logLimit }),
  })
  opened.push(store)
  return store
}

testPolicyStore('redis cluster', {
  async create(options) {
    const id = randomBytes(6).toString('hex')
    current = { prefix: `{vigil-c-${id}}:`, name: `vigil-c-${id}`, logLimit: options?.logLimit }
    return open()
  },
  async peer() {
    return open()
  },
  async disrupt() {
    // Kill this store's connections (writers and tails) on every master, as a network cut would.
    for (const master of cluster.masters) {
      const admin = master.client()
      try {
        const list = String(await admin.client('LIST'))
        for (const line of list.split('\n')) {
          const id = /\bid=(\d+)/.exec(line)?.[1]
          if (id && line.includes(`name=${current.name}`)) await admin.client('KILL', 'ID', id)
        }
      } finally {
        admin.disconnect()
      }
    }
  },
  async cleanup() {
    await Promise.all(opened.map((s) => s.close()))
  },
})

test('the slot of a key is computed exactly as the cluster computes it', async () => {
  const client = createRedisClient({
    kind: 'cluster',
    nodes: [{ host: '127.0.0.1', port: cluster.masters[0]!.port }],
  }) as Cluster
  try {
    for (const key of ['{vigil}:version', 'plain-key', '{}x', '{a}{b}', 'caf\u00e9{ü}:1', '{x']) {
      assert.equal(keySlot(key), Number(await client.cluster('KEYSLOT', key)), key)
    }
  } finally {
    client.disconnect()
  }
})

test('every key a store writes lands in the one slot of its hash tag', async () => {
  const prefix = `{vigil-slot-${randomBytes(4).toString('hex')}}:`
  const store = createRedisStore({
    connection: { kind: 'cluster', nodes: [{ host: '127.0.0.1', port: cluster.masters[0]!.port }] },
    prefix,
  })
  try {
    await store.apply({ type: 'revoke', target: { kind: 'subject', subject: 'alice' } })
    await store.initKey({
      kid: 'k1',
      alg: 'EdDSA',
      publicJwk: { kty: 'OKP' },
      privateJwk: { kty: 'OKP' },
      createdAt: 1,
    })
    const now = Date.now()
    const proof = { family: 'f', token: 'h1' }
    await store.saveRefresh({ sub: 'a', sid: 's', iat: 1, exp: now + 60_000 }, proof)
    await store.rotateRefresh('s', proof, 'h2', now, now + 60_000)
    await store.putLiveSessions(
      'node-a',
      [{ sid: 's', sub: 'a', node: 'node-a', roles: [], connectedAt: 1, sockets: 1 }],
      60_000,
    )
    const slot = keySlot(prefix)
    let seen = 0
    for (const master of cluster.masters) {
      const admin = master.client()
      try {
        const keys = await admin.keys(`${prefix}*`)
        for (const key of keys) assert.equal(keySlot(key), slot, key)
        seen += keys.length
      } finally {
        admin.disconnect()
      }
    }
    assert.ok(seen >= 8, `expected the store's keys, found ${seen}`)
  } finally {
    await store.close()
  }
})
