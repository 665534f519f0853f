import type { Redis } from 'ioredis'
import { ChangeSchema } from '../policy/schema.js'
import type { RedisKeys } from './redis-keys.js'
import type { LogEntry, Snapshot, StoreHead, TailEvent, TailOptions } from './types.js'

export interface RedisTailOptions extends TailOptions {
  /** The connection to block on; the tail owns it and disconnects it when done. */
  connection: Redis
  keys: RedisKeys
  /** How long one XREAD blocks; bounds how often `onContact` fires on a quiet store. */
  blockMs: number
  now: () => number
  readSnapshot: (connection: Redis) => Promise<Snapshot>
  /** The store's head, read on the tail's own connection. */
  readHead: (connection: Redis) => Promise<StoreHead | null>
}

/**
 * Follows the change log from `fromVersion`. Stream ids are `<version>-0`, so the last version
 * seen is the resume point: after any disconnect the next XREAD asks for exactly what came after
 * it, and nothing is skipped or repeated. A gap (log trimmed past the reader) yields a resync
 * with the whole current document. Each quiet timeout yields the store's head, so the reader can
 * tell a store that was emptied or rolled back (the reader judges: see live-policy.ts).
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
        // Back after a failure, the server may be a new one (restarted empty, failed over):
        // look at its head at once instead of after a whole quiet block.
        const block = failures > 0 ? 0 : options.blockMs
        reply = (await Promise.race([
          block > 0
            ? conn.xread('COUNT', 1000, 'BLOCK', block, 'STREAMS', keys.log, `${last}-0`)
            : conn.xread('COUNT', 1000, 'STREAMS', keys.log, `${last}-0`),
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
        let head: StoreHead | null
        try {
          const read = await Promise.race([options.readHead(conn), stopped])
          if (signal?.aborted) return
          head = read as StoreHead | null
        } catch {
          continue
        }
        yield { kind: 'head', head }
        continue
      }
      for (const [id, fields] of reply[0]?.[1] ?? []) {
        const version = Number.parseInt(id, 10)
        const entry = decodeEntry(version, fields)
        // A gap, or an entry no valid writer could produce: the document itself is the truth.
        if (version > last + 1 || entry === null) {
          const snap = await options.readSnapshot(conn)
          last = snap.version
          yield { kind: 'resync', ...snap, at: options.now() }
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
  const raw = fieldOf(fields, 'e')
  const prev = fieldOf(fields, 'p')
  const hash = fieldOf(fields, 'h')
  if (raw === undefined || prev === undefined || hash === undefined) return null
  try {
    const data = JSON.parse(raw) as { change: unknown; at: unknown; actor?: unknown }
    const change = ChangeSchema.safeParse(data.change)
    if (!change.success || typeof data.at !== 'number') return null
    const entry: LogEntry = { version, change: change.data, at: data.at, hash, prev }
    if (typeof data.actor === 'string') entry.actor = data.actor
    return entry
  } catch {
    return null
  }
}

/** A stream entry's field by name: fields come as a flat `[name, value, …]` list. */
function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]
  return undefined
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
