import type { Cluster, Redis, RedisOptions } from 'ioredis'
import { VigilError } from '@vigil-enforcer/client/protocol'
import { applyChange, parseChange } from '../policy/changes.js'
import type { Change } from '../policy/schema.js'
import { decodeState } from './state-decoder.js'
import { createRedisDirectory } from './redis-directory.js'
import { createPruning } from './pruning.js'
import { createRedisDueIndex, createRedisRevocationLookup } from './redis-due-index.js'
import { createRedisSecrets } from './redis-secrets.js'
import { redisKeys } from './redis-keys.js'
import { documentKeys, encodePatch } from './redis-document.js'
import { newEpoch } from './chain.js'
import { APPLY, INIT_EPOCH, READ, RESTORE_KEYS } from './redis-scripts.js'
import { decodeEntry, tailRedis } from './redis-tail.js'
import { createRedisClient, duplicateClient, type RedisTopology } from './redis-connection.js'
import { createReplicaWait } from './redis-wait.js'
import { watchStoreHealth, type StoreHealth } from './store-health.js'
import type {
  ApplyOptions,
  ApplyResult,
  DeploymentIdentity,
  LogEntry,
  PolicyStore,
  Snapshot,
  StoreHead,
  TailOptions,
} from './types.js'

export interface RedisStoreOptions {
  /** `redis://…` URL; ignored when `client` or `connection` is given. */
  url?: string
  /** Where Redis is (URL, Sentinel, Cluster), as `config.redis` says; ignored when `client` is given. */
  connection?: RedisTopology
  /** An existing ioredis client (`Redis` or `Cluster`); the store duplicates it for tails. */
  client?: Redis | Cluster
  /** Acknowledge a change only once this many replicas hold it (`WAIT`). @default 0 */
  waitReplicas?: number
  /** How long `WAIT` may block before the change is answered as unconfirmed. @default 1000 */
  waitTimeoutMs?: number
  /** Receives the connection's ups and downs and unconfirmed writes (metrics). */
  health?: StoreHealth
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
  if (!options.client && !options.url && !options.connection) {
    throw new TypeError('createRedisStore needs url, connection or client')
  }
  const now = options.now ?? Date.now
  const keys = redisKeys(options.prefix)
  const logMaxLength = options.logMaxLength ?? 100_000
  const blockMs = options.blockMs ?? 1000
  const name = options.connectionName ?? 'vigil'
  const waitTimeoutMs = options.waitTimeoutMs ?? 1000
  const client =
    options.client ??
    createRedisClient(options.connection ?? { kind: 'url', url: options.url! }, {
      ...baseOptions(name),
      commandTimeout: Math.max(3000, waitTimeoutMs + 1000), // a WAIT may block this long
    })
  // A Cluster answers every command this store sends exactly as one server does (all keys share
  // one slot); the one call that differs, duplicate(), goes through duplicateClient.
  const redis = client as Redis
  const ownsClient = !options.client
  redis.on('error', () => {}) // reconnects are ioredis's job; callers see failed commands
  if (options.health) watchStoreHealth(client, keys.version, options.health)
  const confirmReplicas = createReplicaWait(client, keys.version, {
    replicas: options.waitReplicas ?? 0,
    timeoutMs: waitTimeoutMs,
    onUnconfirmed: () => options.health?.unconfirmedWrite(),
  })
  const docKeys = documentKeys(keys.doc)
  redis.defineCommand('vigilApply', { numberOfKeys: 4 + docKeys.length, lua: APPLY })
  redis.defineCommand('vigilRead', { numberOfKeys: 3 + docKeys.length, lua: READ })
  redis.defineCommand('vigilInitEpoch', { numberOfKeys: 2, lua: INIT_EPOCH })
  redis.defineCommand('vigilRestoreKeys', { numberOfKeys: 3, lua: RESTORE_KEYS })
  const tails = new Set<Redis>()
  // The last snapshot this process wrote or read: the next write usually builds on it directly.
  let known: Snapshot | null = null

  /** One consistent read of the document and its head; `epoch` is null when the store has none. */
  async function readRaw(conn: Redis) {
    const [rawVersion, epoch, head, ...sections] = (await (
      conn as unknown as VigilCommands
    ).vigilRead(keys.version, keys.epoch, keys.head, ...docKeys)) as [
      string,
      string | null,
      string | null,
      ...string[][],
    ]
    const decoded = decodeState(sections)
    if (!decoded.ok) {
      throw new VigilError('invalid_policy', 'the stored policy document is invalid', {
        details: decoded.issues,
      })
    }
    return { version: Number(rawVersion), epoch, head, policy: decoded.state }
  }

  /** The snapshot, creating the store's epoch first when it has none (new or emptied store). */
  /**
   * The connection whole-document reads use: reading a million-subject document takes seconds
   * (about 3 s of Redis time for 1,000,000 bindings and 200,000 revocations), beyond the 3 s
   * timeout that makes an ordinary command fail fast when Redis is gone.
   */
  let bulkConnection: Redis | null = null
  function bulk(): Redis {
    if (bulkConnection) return bulkConnection
    const conn = duplicateClient(client, {
      ...baseOptions(`${name}-bulk`),
      commandTimeout: BULK_READ_TIMEOUT_MS,
    }) as Redis
    conn.on('error', () => {})
    conn.defineCommand('vigilRead', { numberOfKeys: 3 + docKeys.length, lua: READ })
    conn.defineCommand('vigilInitEpoch', { numberOfKeys: 2, lua: INIT_EPOCH })
    return (bulkConnection = conn)
  }

  async function readSnapshot(conn: Redis = bulk()): Promise<Snapshot> {
    let raw = await readRaw(conn)
    if (raw.epoch === null || raw.head === null) {
      await (conn as unknown as VigilCommands).vigilInitEpoch(keys.epoch, keys.head, newEpoch())
      raw = await readRaw(conn)
    }
    return { ...raw, epoch: raw.epoch!, head: raw.head! }
  }

  /**
   * `from` brought up to the store's head by replaying the log entries written since (another
   * writer's changes), so a write after a conflict costs O(missed changes), not a re-read of the
   * whole document; a full read only when the log cannot prove the history (trimmed, rolled
   * back, a new epoch).
   */
  async function current(from: Snapshot): Promise<Snapshot> {
    const head = await readHead()
    if (head && sameHead(head, from)) return from
    if (head && head.epoch === from.epoch && head.version > from.version) {
      const entries = await readLog(from.version, head.version)
      if (entries && entries.length > 0 && entries[0]!.prev === from.head) {
        let policy = from.policy
        for (const entry of entries) {
          const r = applyChange(policy, entry.change, entry.at)
          if (!r.ok) return (known = await guard(readSnapshot()))
          policy = r.policy
        }
        const last = entries.at(-1)!
        return (known = { epoch: from.epoch, version: last.version, head: last.hash, policy })
      }
    }
    return (known = await guard(readSnapshot()))
  }

  async function readHead(conn: Redis = redis): Promise<StoreHead | null> {
    const [version, epoch, head] = await guard(conn.mget(keys.version, keys.epoch, keys.head))
    if (!epoch) return null
    return { version: Number(version ?? 0), epoch, head: head ?? epoch }
  }

  async function apply(input: Change, opts: ApplyOptions = {}): Promise<ApplyResult> {
    const parsed = parseChange(input)
    if (!parsed.ok) return parsed
    for (let attempt = 0; attempt < MAX_APPLY_ATTEMPTS; attempt++) {
      let base = known ?? (await guard(readSnapshot()))
      const mismatch = (b: Snapshot): boolean =>
        (opts.ifVersion !== undefined && b.version !== opts.ifVersion) ||
        (opts.ifHead !== undefined && !sameHead(b, opts.ifHead))
      // Our cached view may be old; judge a condition on the store's current head.
      if (mismatch(base) && base === known) base = await current(base)
      if (opts.ifVersion !== undefined && base.version !== opts.ifVersion) {
        return conflict(base.version, opts.ifVersion)
      }
      if (opts.ifHead && !sameHead(base, opts.ifHead)) return movedConflict(base.version)
      const at = now()
      const result = applyChange(base.policy, parsed.change, at)
      if (!result.ok) return result
      const entry = JSON.stringify({ change: parsed.change, at, actor: opts.actor })
      // The script commits only on the exact history `base` was read from (epoch and head hash,
      // not just the version number: after a rollback the numbers repeat).
      const [committed, version, head] = (await guard(
        (redis as unknown as VigilCommands).vigilApply(
          keys.version,
          keys.log,
          keys.head,
          keys.epoch,
          ...docKeys,
          base.head,
          entry,
          logMaxLength,
          opts.minVersion ?? 0,
          ...encodePatch(base.policy, result.policy, result.touched),
        ),
      )) as [number, number, string]
      if (committed === 1) {
        const next: StoreHead = { epoch: base.epoch, version, head }
        known = { ...next, policy: result.policy }
        await confirmReplicas(version) // throws store_unavailable, applied: true, when unconfirmed
        return {
          ok: true,
          version,
          previousVersion: base.version,
          at,
          policy: result.policy,
          head: next,
        }
      }
      if (opts.ifVersion !== undefined) return conflict(version, opts.ifVersion)
      if (opts.ifHead) return movedConflict(version)
      known = await current(base)
    }
    throw new VigilError('store_unavailable', 'too many concurrent writers; try again')
  }

  function tail(fromVersion: number, opts: TailOptions = {}): AsyncIterable<TailEvent> {
    const connection = duplicateClient(client, {
      ...baseOptions(`${name}-tail`),
      // A blocked XREAD must wait out a reconnect rather than fail after N retries.
      maxRetriesPerRequest: null,
      commandTimeout: undefined,
    }) as Redis
    connection.on('error', () => {})
    // A duplicate does not inherit custom commands; the tail reads snapshots on its own connection.
    connection.defineCommand('vigilRead', { numberOfKeys: 3 + docKeys.length, lua: READ })
    connection.defineCommand('vigilInitEpoch', { numberOfKeys: 2, lua: INIT_EPOCH })
    tails.add(connection)
    connection.once('end', () => tails.delete(connection))
    return tailRedis(fromVersion, {
      ...opts,
      connection,
      keys,
      blockMs,
      now,
      readSnapshot,
      readHead,
    })
  }

  /**
   * Reads the anchor entry `fromVersion` too (or the epoch, from 0) and checks that every entry
   * chains to the one before: versions may jump (a restore continues above what nodes had seen),
   * so the chain, not the numbers, tells whether the log still holds the whole story.
   */
  async function readLog(fromVersion: number, toVersion: number): Promise<LogEntry[] | null> {
    if (toVersion <= fromVersion) return []
    const [raw, epoch] = await guard(
      Promise.all([
        redis.xrange(keys.log, fromVersion > 0 ? `${fromVersion}-0` : '-', `${toVersion}-0`),
        redis.get(keys.epoch),
      ]),
    )
    const entries: LogEntry[] = []
    let prev: string | null = fromVersion > 0 ? null : epoch
    for (const [id, fields] of raw) {
      const entry = decodeEntry(Number.parseInt(id, 10), fields)
      if (!entry) return null
      if (prev === null && entry.version === fromVersion) {
        prev = entry.hash
        continue
      }
      // Without the anchor (trimmed just past it) only the next version proves continuity.
      if (prev === null ? entry.version !== fromVersion + 1 : entry.prev !== prev) return null
      prev = entry.hash
      entries.push(entry)
    }
    if (prev === null) return null
    const head = await guard(redis.get(keys.version))
    return toVersion <= Number(head ?? 0) ? entries : null
  }

  const pruning = createPruning({
    apply,
    index: createRedisDueIndex(redis, keys.due, guard),
    lookup: createRedisRevocationLookup(redis, keys.doc, guard),
  })

  return {
    kind: 'redis',
    readLog,
    load: async () => {
      const snap = await guard(readSnapshot())
      if (!known || snap.epoch !== known.epoch || snap.version >= known.version) known = snap
      return snap
    },
    version: async () => Number((await guard(redis.get(keys.version))) ?? 0),
    head: () => readHead(),
    apply: pruning.apply,
    prune: pruning.prune,
    tail,
    ...createRedisSecrets(redis, keys, guard),
    async claimDeployment(candidate) {
      const fields = Object.entries(candidate).filter(([, v]) => v !== undefined)
      const m = redis.multi()
      for (const [field, value] of fields) m.hsetnx(keys.deployment, field, value as string)
      m.hgetall(keys.deployment)
      const replies = (await guard(m.exec())) ?? []
      const stored = replies.at(-1)?.[1] as Record<string, string> | undefined
      return deploymentOf(stored ?? {}, candidate)
    },
    async restoreKeys(stored, currentKid) {
      const args = stored.flatMap((k) => {
        const { retireAt, ...key } = k
        return [k.kid, JSON.stringify(key), retireAt === undefined ? '' : String(retireAt)]
      })
      const cmd = redis as unknown as VigilCommands
      return guard(
        cmd.vigilRestoreKeys(
          keys.keys,
          keys.currentKid,
          keys.retirements,
          currentKid ?? '',
          ...args,
        ),
      )
    },
    ...createRedisDirectory(redis, options.prefix ?? '{vigil}:', guard),
    async close() {
      for (const conn of tails) conn.disconnect()
      bulkConnection?.disconnect()
      if (ownsClient) {
        await redis.quit().catch(() => {})
        // QUIT alone leaves a Sentinel client's failover-detector connections reconnecting forever.
        redis.disconnect()
      }
    },
  }
}

type TailEvent = import('./types.js').TailEvent

interface VigilCommands {
  vigilApply(...args: (string | number)[]): Promise<unknown>
  vigilRead(...args: string[]): Promise<unknown>
  vigilInitEpoch(...args: string[]): Promise<string>
  vigilRestoreKeys(...args: string[]): Promise<number>
}

/**
 * The stored identity. Fields are claimed one by one (HSETNX), so a key hash is adopted only
 * with the issuer it came with: a node that configured its key never records a hash.
 */
function deploymentOf(
  stored: Record<string, string>,
  candidate: DeploymentIdentity,
): DeploymentIdentity {
  const out: DeploymentIdentity = { issuer: stored['issuer'] ?? candidate.issuer }
  if (stored['apiKeySha256']) out.apiKeySha256 = stored['apiKeySha256']
  if (stored['apiKeyNode']) out.apiKeyNode = stored['apiKeyNode']
  return out
}

function sameHead(a: StoreHead, b: StoreHead): boolean {
  return a.epoch === b.epoch && a.head === b.head && a.version === b.version
}

function movedConflict(version: number): ApplyResult {
  return {
    ok: false,
    code: 'conflict',
    message: 'the store moved on from the history this change was built on',
    version,
  }
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

/** How long one whole-document read may take; see `bulk()`. */
const BULK_READ_TIMEOUT_MS = 60_000

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
