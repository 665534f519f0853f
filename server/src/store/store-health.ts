import { Cluster, type Redis } from 'ioredis'
import type { RedisClient } from './redis-connection.js'
import { keySlot } from './redis-wait.js'

/**
 * What a node knows of its connection to the store, for `/metrics`: whether it is up now, how
 * often it went down, and how many committed changes no replica confirmed in time. Created before
 * the store (the connection reports as soon as it is made) and read when metrics are scraped.
 */
export interface StoreHealth {
  up(): boolean
  /** Times the connection went from up to down. */
  outages(): number
  /** Committed changes answered `store_unavailable` because `WAIT` did not confirm them. */
  unconfirmedWrites(): number
  /** Reports the connection state (the store calls these). */
  report(up: boolean): void
  unconfirmedWrite(): void
}

/**
 * @example
 * ```ts
 * const health = createStoreHealth()
 * const store = createRedisStore({ connection: config.redis, health })
 * ```
 */
export function createStoreHealth(): StoreHealth {
  let up = false
  let outages = 0
  let unconfirmed = 0
  return {
    up: () => up,
    outages: () => outages,
    unconfirmedWrites: () => unconfirmed,
    report(next) {
      if (up && !next) outages += 1
      up = next
    },
    unconfirmedWrite: () => void (unconfirmed += 1),
  }
}

/**
 * Feeds `health` from the client's connection events. On a cluster the store lives on one slot,
 * so it is up while the cluster is ready and that slot's master connection is not closed.
 */
export function watchStoreHealth(client: RedisClient, slotKey: string, health: StoreHealth): void {
  if (!(client instanceof Cluster)) {
    client.on('ready', () => health.report(true))
    client.on('close', () => health.report(false))
    return
  }
  const slot = keySlot(slotKey)
  const closed = new WeakSet<Redis>()
  const judge = (): void => {
    const owner = client.slots[slot]?.[0]
    const node = client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner)
    health.report(client.status === 'ready' && node !== undefined && !closed.has(node))
  }
  const watched = new WeakSet<Redis>()
  const watch = (node: Redis): void => {
    if (watched.has(node)) return
    watched.add(node)
    node.on('ready', () => {
      closed.delete(node)
      judge()
    })
    node.on('close', () => {
      closed.add(node)
      judge()
    })
  }
  // The startup nodes joined the pool inside the constructor, before anyone could listen.
  for (const node of client.nodes('all')) watch(node)
  client.on('+node', watch)
  for (const event of ['ready', 'close', 'end', 'refresh', '-node']) client.on(event, judge)
}
