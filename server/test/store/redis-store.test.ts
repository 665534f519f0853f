import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { createRedisStore } from '../../src/store/redis-store.js'
import type { PolicyStore } from '../../src/store/types.js'
import { testPolicyStore } from './contract.js'
import { dropPrefix, REDIS_URL } from '../helpers/redis.js'

const admin = new Redis(REDIS_URL, { lazyConnect: true })
const opened: PolicyStore[] = []
const prefixes: string[] = []
let current = { prefix: '', name: '', logLimit: undefined as number | undefined }

function open(): PolicyStore {
  const store = createRedisStore({
    url: REDIS_URL,
    prefix: current.prefix,
    connectionName: current.name,
    blockMs: 200,
    ...(current.logLimit === undefined ? {} : { logMaxLength: current.logLimit }),
  })
  opened.push(store)
  return store
}

testPolicyStore('redis', {
  async create(options) {
    const id = randomBytes(6).toString('hex')
    current = {
      prefix: `{vigil-test-${id}}:`,
      name: `vigil-test-${id}`,
      logLimit: options?.logLimit,
    }
    prefixes.push(current.prefix)
    return open()
  },
  async peer() {
    return open()
  },
  async disrupt() {
    // Kill every connection of this store (writers and tails), as a network cut would.
    const list = await admin.client('LIST')
    const ids = String(list)
      .split('\n')
      .filter((line) => line.includes(`name=${current.name}`))
      .map((line) => /\bid=(\d+)/.exec(line)?.[1])
      .filter((id): id is string => id !== undefined)
    for (const id of ids) await admin.client('KILL', 'ID', id)
  },
  async cleanup() {
    await Promise.all(opened.map((s) => s.close()))
    for (const prefix of prefixes) {
      await dropPrefix(prefix)
    }
    admin.disconnect()
  },
})
