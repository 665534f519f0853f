import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import { createRedisStore } from '../../src/store/redis-store.js'
import type { RedisTopology } from '../../src/store/redis-connection.js'
import type { PolicyStore } from '../../src/store/types.js'
import { testPolicyStore } from './contract.js'
import { startSentinelSetup, type SentinelSetup } from '../helpers/redis-sentinel.js'
import { stopAll, until } from '../helpers/redis-topology.js'

// The whole store contract through Sentinel (a primary, a replica, three sentinels this file
// starts), and a closed store leaving nothing connected behind.
let setup: SentinelSetup
const opened: PolicyStore[] = []
let current = { prefix: '', name: '', logLimit: undefined as number | undefined }

before(async () => {
  setup = await startSentinelSetup()
})
after(async () => {
  await stopAll()
})

const topology = (): RedisTopology => ({
  kind: 'sentinel',
  sentinels: setup.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
  name: setup.name,
})

function open(): PolicyStore {
  const store = createRedisStore({
    connection: topology(),
    prefix: current.prefix,
    connectionName: current.name,
    blockMs: 200,
    ...(current.logLimit === undefined ? {} : { logMaxLength: current.logLimit }),
  })
  opened.push(store)
  return store
}

testPolicyStore('redis sentinel', {
  async create(options) {
    const id = randomBytes(6).toString('hex')
    current = { prefix: `{vigil-s-${id}}:`, name: `vigil-s-${id}`, logLimit: options?.logLimit }
    return open()
  },
  async peer() {
    return open()
  },
  async disrupt() {
    const admin = setup.primary.client()
    try {
      for (const line of String(await admin.client('LIST')).split('\n')) {
        const id = /\bid=(\d+)/.exec(line)?.[1]
        if (id && line.includes(`name=${current.name}`)) await admin.client('KILL', 'ID', id)
      }
    } finally {
      admin.disconnect()
    }
  },
  async cleanup() {
    await Promise.all(opened.map((s) => s.close()))
  },
})

/** Connections a sentinel holds (its peers', and the asking one, count the same each time). */
async function clientsOf(sentinel: SentinelSetup['sentinels'][number]): Promise<number> {
  const admin = sentinel.client()
  try {
    return String(await admin.client('LIST'))
      .split('\n')
      .filter(Boolean).length
  } finally {
    admin.disconnect()
  }
}

test('a closed store leaves no connection open to any sentinel, its failover watch included', async () => {
  const counts = async () => Promise.all(setup.sentinels.map(clientsOf))
  const baseline = (await counts()).reduce((a, b) => a + b, 0)
  const store = createRedisStore({ connection: topology(), prefix: '{vigil-s-close}:' })
  await store.apply({ type: 'revoke', target: { kind: 'subject', subject: 'alice' } })
  // The failover detector subscribes to +switch-master on the sentinels once connected.
  await until('the store to watch the sentinels', async () => {
    return (await counts()).reduce((a, b) => a + b, 0) > baseline
  })
  await store.close()
  await until('every connection of the closed store to go', async () => {
    return (await counts()).reduce((a, b) => a + b, 0) === baseline
  })
  assert.equal(
    (await counts()).reduce((a, b) => a + b, 0),
    baseline,
  )
})
