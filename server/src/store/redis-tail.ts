import type { Redis } from 'ioredis'
import { ChangeSchema } from '../policy/schema.js'
import type { RedisKeys } from './redis-keys.js'
import type { LogEntry, Snapshot, TailEvent, TailOptions } from './types.js'

export interface RedisTailOptions extends TailOptions {
  /** The connection to block on; the tail owns it and disconnects it when done. */
  connection: Redis
  keys: RedisKeys
  /** How long one XREAD blocks; bounds how often `onContact` fires on a quiet store. */
  blockMs: number
  now: () => number
  readSnapshot: (connection: Redis) => Promise<Snapshot>
}

/**
 * Follows the change log from `fromVersion`. Stream ids are `<version>-0`, so the last version
 * seen is the resume point: after any disconnect the next XREAD asks for exactly what came after
 * it, and nothing is skipped or repeated. A gap (log trimmed past the reader) or a store that went
 * backwards (Redis restarted empty) yields a resync with the whole current document.
 */
export async function* tailRedis(
  fromVersion: number,
  options: RedisTailOptions,
): AsyncGenerator<TailEvent> {
  const { connection: conn, keys, signal } = options
  const stop = (): void => conn.disconnect()
  signal?.addEventListener('abort', stop, { once: true })
  // ioredis never settles a command that waits on a connection disconnected mid-reconnect
  // (redis/ioredis#2169), so a read must also end when the tail is stopped.
  const stopped = new Promise<null>((resolve) => {
    if (signal?.aborted) resolve(null)
    signal?.addEventListener('abort', () => resolve(null), { once: true })
  })
  let last = fromVersion
  let failures = 0
  try {
    while (!signal?.aborted) {
      let reply: [string, [string, string[]][]][] | null
      try {
        reply = (await Promise.race([
          conn.xread('COUNT', 1000, 'BLOCK', options.blockMs, 'STREAMS', keys.log, `${last}-0`),
          stopped,
        ])) as typeof reply
        if (signal?.aborted) return
        failures = 0
      } catch {
        if (signal?.aborted) return
        // ioredis reconnects on its own; back off so a dead server is not hammered.
        failures += 1
        await delay(Math.min(50 * failures, 1000), signal)
        continue
      }
      options.onContact?.(options.now())
      if (reply === null) {
        const stored = Number(
          (await Promise.race([conn.get(keys.version).catch(() => null), stopped])) ?? 0,
        )
        if (signal?.aborted) return
        if (stored < last) {
          const snap = await options.readSnapshot(conn)
          last = snap.version
          yield { kind: 'resync', version: snap.version, policy: snap.policy, at: options.now() }
        }
        continue
      }
      for (const [id, fields] of reply[0]?.[1] ?? []) {
        const version = Number.parseInt(id, 10)
        const entry = decodeEntry(version, fields)
        // A gap, or an entry no valid writer could produce: the document itself is the truth.
        if (version > last + 1 || entry === null) {
          const snap = await options.readSnapshot(conn)
          last = snap.version
          yield { kind: 'resync', version: snap.version, policy: snap.policy, at: options.now() }
          break
        }
        last = version
        yield { kind: 'change', entry }
        if (signal?.aborted) return
      }
    }
  } finally {
    signal?.removeEventListener('abort', stop)
    conn.disconnect()
  }
}

/** One stream entry as a log entry, or null when no valid writer could have produced it. */
export function decodeEntry(version: number, fields: string[]): LogEntry | null {
  const raw = fields[fields.indexOf('e') + 1]
  if (raw === undefined) return null
  try {
    const data = JSON.parse(raw) as { change: unknown; at: unknown; actor?: unknown }
    const change = ChangeSchema.safeParse(data.change)
    if (!change.success || typeof data.at !== 'number') return null
    const entry: LogEntry = { version, change: change.data, at: data.at }
    if (typeof data.actor === 'string') entry.actor = data.actor
    return entry
  } catch {
    return null
  }
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
  })
}
