import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

/** The Redis the integration tests talk to: a real server (`.ci/run` starts one when absent). */
export const REDIS_URL = process.env['VIGIL_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

/**
 * A key prefix of its own for one test (a hash tag, so a cluster would keep it on one slot):
 * tests share the one Redis, so each writes under a fresh prefix and drops it afterwards.
 */
export function testPrefix(tag: string): string {
  return `{vigil-${tag}-${randomBytes(4).toString('hex')}}:`
}

/** Deletes every key under `prefix` (SCAN, not KEYS, so a big shared Redis is not blocked). */
export async function dropPrefix(prefix: string, url: string = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  redis.on('error', () => {})
  try {
    await redis.connect()
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await redis.unlink(...keys)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}
