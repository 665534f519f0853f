import { Cluster, type Redis } from 'ioredis'
import { VigilError } from '@vigil-enforcer/client/protocol'
import type { RedisClient } from './redis-connection.js'

export interface ReplicaWaitOptions {
  /** Replicas that must hold a change before it is acknowledged; 0 turns waiting off. */
  replicas: number
  /** How long `WAIT` may block, ms. */
  timeoutMs: number
  /** Called for each committed change that was not confirmed in time (metrics). */
  onUnconfirmed?: () => void
}

/** What a `store_unavailable` error of an unconfirmed change carries in `details`. */
export interface UnconfirmedDetails {
  /** The change is committed on the primary: a retry may repeat it, never lose it. */
  applied: true
  version: number
  /** Replicas that confirmed it in time, and how many were required. */
  replicas: number
  required: number
}

/**
 * Durable acknowledgements: after a change is committed, `WAIT n timeout` on the connection that
 * committed it — WAIT counts the replicas that hold everything *that connection* wrote, so on any
 * other connection it would confirm nothing of ours. On a cluster that is the master owning the
 * store's slot (all keys share one hash tag). A connection that dropped in between (ioredis
 * re-sends the WAIT on the new one, where it would confirm nothing) counts as not confirmed.
 *
 * @returns `confirm(version)`: resolves once confirmed, else throws `store_unavailable` with
 *   {@link UnconfirmedDetails}.
 * @example
 * ```ts
 * const confirm = createReplicaWait(redis, keys.version, { replicas: 1, timeoutMs: 1000 })
 * await confirm(result.version) // after the commit, before acknowledging it
 * ```
 */
export function createReplicaWait(
  client: RedisClient,
  slotKey: string,
  options: ReplicaWaitOptions,
): (version: number) => Promise<void> {
  const { replicas, timeoutMs } = options
  if (replicas <= 0) return async () => {}
  const slot = keySlot(slotKey)
  return async function confirmReplicas(version: number): Promise<void> {
    const node = writerOf(client, slot)
    let confirmed = 0
    if (node) {
      const before = generation(node)
      try {
        const acked = Number(await node.wait(replicas, timeoutMs))
        if (generation(node) === before) confirmed = acked
      } catch {
        // Connection lost while waiting: the change is on the primary, its copies unknown.
      }
    }
    if (confirmed >= replicas) return
    options.onUnconfirmed?.()
    const details: UnconfirmedDetails = {
      applied: true,
      version,
      replicas: confirmed,
      required: replicas,
    }
    throw new VigilError(
      'store_unavailable',
      `the change was applied as version ${version}, but ${confirmed} of ${replicas} required ` +
        `replicas confirmed it within ${timeoutMs} ms; it may be lost if the primary fails now. ` +
        'Retrying it is safe.',
      { details },
    )
  }
}

/** True for the error `confirm` throws: committed, not confirmed. */
export function isUnconfirmed(err: unknown): err is VigilError & { details: UnconfirmedDetails } {
  return (
    err instanceof VigilError &&
    err.code === 'store_unavailable' &&
    (err.details as Partial<UnconfirmedDetails> | undefined)?.applied === true
  )
}

/** The connection that executes writes to `slot`: the client itself, or the slot's master. */
function writerOf(client: RedisClient, slot: number): Redis | undefined {
  if (!(client instanceof Cluster)) return client
  const owner = client.slots[slot]?.[0]
  return client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner)
}

// Each close of a connection moves its generation on; a WAIT answered in another generation
// than the commit's ran on a connection that wrote nothing of ours.
const generations = new WeakMap<Redis, { n: number }>()
function generation(conn: Redis): number {
  let state = generations.get(conn)
  if (!state) {
    const fresh = { n: 0 }
    conn.on('close', () => (fresh.n += 1))
    generations.set(conn, (state = fresh))
  }
  return state.n
}

/** The Redis Cluster slot of `key`: CRC16 (XMODEM) of its hash tag, or of the whole key. */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key)
  let start = 0
  let end = bytes.length
  const open = bytes.indexOf(0x7b) // {
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1) // }
    if (close > open + 1) [start, end] = [open + 1, close]
  }
  let crc = 0
  for (let i = start; i < end; i++) {
    crc ^= bytes[i]! << 8
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc % 16384
}
