import { Redis, type RedisOptions } from 'ioredis'
import { VigilError } from '@vigil/client/protocol'
import { applyChange, parseChange } from '../policy/changes.js'
import { PolicySchema, formatIssues, type Change } from '../policy/schema.js'
import { createRedisDirectory } from './redis-directory.js'
import { createRedisSecrets } from './redis-secrets.js'
import { redisKeys } from './redis-keys.js'
import { decodeDocument, documentKeys, encodePatch } from './redis-document.js'
import { APPLY, READ } from './redis-scripts.js'
import { decodeEntry, tailRedis } from './redis-tail.js'
import type {
  ApplyOptions,
  ApplyResult,
  LogEntry,
  PolicyStore,
  Snapshot,
  TailOptions,
} from './types.js'

export interface RedisStoreOptions {
  /** `redis://…` URL; ignored when `client` is given. */
  url?: string
  /** An existing ioredis client (Sentinel, Cluster-aware setups); the store duplicates it for tails. */
  client?: Redis
  /** Key namespace; keep a `{…}` hash tag so all keys share a Cluster slot. @default '{vigil}:' */
  prefix?: string
  /** Approximate change-log length kept in the stream. @default 100_000 */
  logMaxLength?: number
  /** How long a tail's XREAD blocks; staleness checks need contact well within their bound. @default 1000 */
  blockMs?: number
  /** Client name in `CLIENT LIST`; tails use `<name>-tail`. @default 'vigil' */
  connectionName?: string
  /** Milliseconds since epoch. @default Date.now */
  now?: () => number
}

const MAX_APPLY_ATTEMPTS = 50

/**
 * The shared store: every enforcer node reads and tails the same Redis. Writes are optimistic —
 * compute the next document against the version we know, then a Lua script commits it only if
 * the version is still that one — so concurrent writers never lose an update.
 *
 * @example
 * ```ts
 * const store = createRedisStore({ url: 'redis://127.0.0.1:6379' })
 * const { version } = await store.load()
 * ```
 */
export function createRedisStore(options: RedisStoreOptions): PolicyStore {
  if (!options.client && !options.url) throw new TypeError('createRedisStore needs url or client')
  const now = options.now ?? Date.now
  const keys = redisKeys(options.prefix)
  const logMaxLength = options.logMaxLength ?? 100_000
  const blockMs = options.blockMs ?? 1000
  const name = options.connectionName ?? 'vigil'
  const redis = options.client ?? new Redis(options.url!, baseOptions(name))
  const ownsClient = !options.client
  redis.on('error', () => {}) // reconnects are ioredis's job; callers see failed commands
  const docKeys = documentKeys(keys.doc)
  redis.defineCommand('vigilApply', { numberOfKeys: 2 + docKeys.length, lua: APPLY })
  redis.defineCommand('vigilRead', { numberOfKeys: 1 + docKeys.length, lua: READ })
  const tails = new Set<Redis>()
  // The last snapshot this process wrote or read: the next write usually builds on it directly.
  let known: Snapshot | null = null

  async function readSnapshot(conn: Redis = redis): Promise<Snapshot> {
    const [rawVersion, ...sections] = (await (conn as unknown as VigilCommands).vigilRead(
      keys.version,
      ...docKeys,
    )) as [string, ...string[][]]
    let document: unknown
    try {
      document = decodeDocument(sections)
    } catch (err) {
      throw new VigilError('invalid_policy', 'the stored policy document is not JSON', {
        cause: err,
      })
    }
    const parsed = PolicySchema.safeParse(document)
    if (!parsed.success) {
      throw new VigilError('invalid_policy', 'the stored policy document is invalid', {
        details: formatIssues(parsed.error),
      })
    }
    return { version: Number(rawVersion), policy: parsed.data }
  }

  async function apply(input: Change, opts: ApplyOptions = {}): Promise<ApplyResult> {
    const parsed = parseChange(input)
    if (!parsed.ok) return parsed
    for (let attempt = 0; attempt < MAX_APPLY_ATTEMPTS; attempt++) {
      let base = known ?? (await guard(readSnapshot()))
      if (opts.ifVersion !== undefined && base.version !== opts.ifVersion && base === known) {
        base = await guard(readSnapshot()) // our cached view may be old; judge on a fresh read
      }
      if (opts.ifVersion !== undefined && base.version !== opts.ifVersion) {
        return conflict(base.version, opts.ifVersion)
      }
      const at = now()
      const result = applyChange(base.policy, parsed.change, at)
      if (!result.ok) return result
      const entry = JSON.stringify({ change: parsed.change, at, actor: opts.actor })
      const [committed, version] = (await guard(
        (redis as unknown as VigilCommands).vigilApply(
          keys.version,
          keys.log,
          ...docKeys,
          base.version,
          entry,
          logMaxLength,
          ...encodePatch(base.policy, result.policy),
        ),
      )) as [number, number]
      if (committed === 1) {
        known = { version, policy: result.policy }
        return { ok: true, version, previousVersion: base.version, at, policy: result.policy }
      }
      known = null
      if (opts.ifVersion !== undefined) return conflict(version, opts.ifVersion)
    }
    throw new VigilError('store_unavailable', 'too many concurrent writers; try again')
  }

  function tail(fromVersion: number, opts: TailOptions = {}): AsyncIterable<TailEvent> {
    const connection = redis.duplicate({
      ...baseOptions(`${name}-tail`),
      // A blocked XREAD must wait out a reconnect rather than fail after N retries.
      maxRetriesPerRequest: null,
      commandTimeout: undefined,
    })
    connection.on('error', () => {})
    // A duplicate does not inherit custom commands; the tail reads snapshots on its own connection.
    connection.defineCommand('vigilRead', { numberOfKeys: 1 + docKeys.length, lua: READ })
    tails.add(connection)
    connection.once('end', () => tails.delete(connection))
    return tailRedis(fromVersion, {
      ...opts,
      connection,
      keys,
      blockMs,
      now,
      readSnapshot,
    })
  }

  async function readLog(fromVersion: number, toVersion: number): Promise<LogEntry[] | null> {
    if (toVersion <= fromVersion) return []
    const raw = await guard(redis.xrange(keys.log, `${fromVersion + 1}-0`, `${toVersion}-0`))
    const entries: LogEntry[] = []
    for (const [id, fields] of raw) {
      const entry = decodeEntry(Number.parseInt(id, 10), fields)
      // A gap or an undecodable entry means the log cannot tell the whole story.
      if (!entry || entry.version !== fromVersion + 1 + entries.length) return null
      entries.push(entry)
    }
    return entries.length === toVersion - fromVersion ? entries : null
  }

  return {
    kind: 'redis',
    readLog,
    load: () => guard(readSnapshot()),
    version: async () => Number((await guard(redis.get(keys.version))) ?? 0),
    apply,
    tail,
    ...createRedisSecrets(redis, keys, guard),
    ...createRedisDirectory(redis, options.prefix ?? '{vigil}:', guard),
    async close() {
      for (const conn of tails) conn.disconnect()
      if (ownsClient) await redis.quit().catch(() => redis.disconnect())
    },
  }
}

type TailEvent = import('./types.js').TailEvent

interface VigilCommands {
  vigilApply(...args: (string | number)[]): Promise<unknown>
  vigilRead(...args: string[]): Promise<unknown>
}

function conflict(version: number, expected: number): ApplyResult {
  return {
    ok: false,
    code: 'conflict',
    message: `the policy is at version ${version}, not ${expected}`,
    version,
  }
}

/** Turns a Redis failure into a coded error callers can map (503, fail closed). */
async function guard<T>(work: Promise<T>): Promise<T> {
  try {
    return await work
  } catch (err) {
    if (err instanceof VigilError) throw err
    throw new VigilError('store_unavailable', 'the policy store is unreachable', { cause: err })
  }
}

export type Guard = typeof guard

function baseOptions(connectionName: string): RedisOptions {
  return {
    connectionName,
    // Fail a command quickly when Redis is gone: the caller fails closed instead of hanging.
    maxRetriesPerRequest: 1,
    commandTimeout: 3000,
    connectTimeout: 3000,
    retryStrategy: (times) => Math.min(times * 50, 500),
    lazyConnect: false,
  }
}
