import { applyChange, parseChange } from '../policy/changes.js'
import { emptyPolicy, type Change, type Policy } from '../policy/schema.js'
import type {
  ApplyOptions,
  ApplyResult,
  LiveSessionInfo,
  LogEntry,
  PolicyStore,
  RefreshRecord,
  RotateRefreshResult,
  StoredKey,
  TailEvent,
  TailOptions,
} from './types.js'

export interface MemoryStoreOptions {
  /** Milliseconds since epoch; injectable for tests. @default Date.now */
  now?: () => number
  /** Change-log entries kept; a reader further behind gets a resync. @default 10_000 */
  logLimit?: number
  /** A quiet tail still reports contact this often, like a Redis tail's XREAD timeout. @default 500 */
  contactIntervalMs?: number
}

interface RefreshEntry {
  record: RefreshRecord
  spent: boolean
}

/**
 * The single-node store: everything in this process's memory. It is the default for
 * `npm start` without `REDIS_URL` and passes the same contract suite as the Redis store, but it
 * cannot be shared between nodes and forgets everything on restart.
 *
 * @example
 * ```ts
 * const store = createMemoryStore()
 * await store.apply({ type: 'subject.roles', subject: 'alice', roles: [] })
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): PolicyStore {
  const now = options.now ?? Date.now
  const logLimit = options.logLimit ?? 10_000
  const contactIntervalMs = options.contactIntervalMs ?? 500
  if (!Number.isInteger(logLimit) || logLimit < 1) {
    throw new TypeError('logLimit must be a positive integer')
  }

  let policy: Policy = emptyPolicy()
  let version = 0
  const log: LogEntry[] = []
  const wakers = new Set<() => void>()
  const keys = new Map<string, StoredKey>()
  let currentKid: string | null = null
  const refresh = new Map<string, RefreshEntry>()
  const revokedFamilies = new Set<string>()
  let closed = false
  const liveNodes = new Map<string, { expires: number; sessions: Map<string, LiveSessionInfo> }>()
  const liveNode = (node: string, ttlMs: number) => {
    let entry = liveNodes.get(node)
    if (!entry) liveNodes.set(node, (entry = { expires: 0, sessions: new Map() }))
    entry.expires = now() + ttlMs
    return entry
  }

  function apply(input: Change, opts: ApplyOptions = {}): Promise<ApplyResult> {
    const parsed = parseChange(input)
    if (!parsed.ok) return Promise.resolve(parsed)
    if (opts.ifVersion !== undefined && opts.ifVersion !== version) {
      return Promise.resolve({
        ok: false,
        code: 'conflict',
        message: `the policy is at version ${version}, not ${opts.ifVersion}`,
        version,
      })
    }
    const at = now()
    const result = applyChange(policy, parsed.change, at)
    if (!result.ok) return Promise.resolve(result)
    const previousVersion = version
    policy = result.policy
    version += 1
    const entry: LogEntry = { version, change: parsed.change, at }
    if (opts.actor !== undefined) entry.actor = opts.actor
    log.push(entry)
    if (log.length > logLimit) log.splice(0, log.length - logLimit)
    for (const wake of wakers) wake()
    return Promise.resolve({ ok: true, version, previousVersion, at, policy })
  }

  async function* tail(fromVersion: number, opts: TailOptions = {}): AsyncGenerator<TailEvent> {
    let last = fromVersion
    while (!closed && !opts.signal?.aborted) {
      opts.onContact?.(now())
      const first = log[0]
      if (version < last || (first !== undefined && first.version > last + 1)) {
        // The reader is ahead of a reset store, or behind the trimmed log: hand it the document.
        last = version
        yield { kind: 'resync', version, policy, at: now() }
        continue
      }
      const start = first === undefined ? 0 : last + 1 - first.version
      if (start < log.length) {
        for (const entry of log.slice(start)) {
          last = entry.version
          yield { kind: 'change', entry }
          if (opts.signal?.aborted) return
        }
        continue
      }
      await waitForChange(opts.signal)
    }
  }

  function waitForChange(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => wake(), contactIntervalMs)
      const wake = (): void => {
        clearTimeout(timer)
        wakers.delete(wake)
        signal?.removeEventListener('abort', wake)
        resolve()
      }
      wakers.add(wake)
      signal?.addEventListener('abort', wake, { once: true })
    })
  }

  return {
    kind: 'memory',
    load: () => Promise.resolve({ policy, version }),
    version: () => Promise.resolve(version),
    apply,
    tail,
    readLog(fromVersion, toVersion) {
      if (toVersion <= fromVersion) return Promise.resolve([])
      const first = log[0]
      if (!first || first.version > fromVersion + 1 || toVersion > version) {
        return Promise.resolve(null)
      }
      const start = fromVersion + 1 - first.version
      return Promise.resolve(log.slice(start, start + (toVersion - fromVersion)))
    },

    listKeys: () => Promise.resolve([...keys.values()].map((k) => structuredClone(k))),
    currentKid: () => Promise.resolve(currentKid),
    initKey(key) {
      if (currentKid !== null) return Promise.resolve(false)
      keys.set(key.kid, structuredClone(key))
      currentKid = key.kid
      return Promise.resolve(true)
    },
    rotateKey(key, previousRetireAt) {
      const previous = currentKid === null ? undefined : keys.get(currentKid)
      if (previous) previous.retireAt = previousRetireAt
      keys.set(key.kid, structuredClone(key))
      currentKid = key.kid
      return Promise.resolve()
    },
    pruneKeys(nowMs) {
      for (const [kid, key] of keys) {
        if (key.retireAt !== undefined && key.retireAt <= nowMs && kid !== currentKid) {
          keys.delete(kid)
        }
      }
      return Promise.resolve()
    },

    saveRefresh(hash, record) {
      refresh.set(hash, { record: structuredClone(record), spent: false })
      return Promise.resolve()
    },
    getRefresh(hash) {
      const entry = refresh.get(hash)
      return Promise.resolve(entry ? structuredClone(entry.record) : null)
    },
    rotateRefresh(oldHash, newHash, nowMs, newExp): Promise<RotateRefreshResult> {
      const entry = refresh.get(oldHash)
      if (!entry) return Promise.resolve({ ok: false, reason: 'unknown' })
      const record = structuredClone(entry.record)
      if (revokedFamilies.has(record.family)) {
        return Promise.resolve({ ok: false, reason: 'family_revoked', record })
      }
      if (entry.spent) {
        revokedFamilies.add(record.family)
        return Promise.resolve({ ok: false, reason: 'reused', record })
      }
      if (record.exp <= nowMs) return Promise.resolve({ ok: false, reason: 'expired', record })
      entry.spent = true
      const next: RefreshRecord = { ...record, iat: Math.floor(nowMs / 1000), exp: newExp }
      refresh.set(newHash, { record: structuredClone(next), spent: false })
      return Promise.resolve({ ok: true, previous: record, next })
    },
    revokeFamily(family) {
      revokedFamilies.add(family)
      return Promise.resolve()
    },

    putLiveSessions(node, sessions, ttlMs) {
      const entry = liveNode(node, ttlMs)
      for (const info of sessions) entry.sessions.set(info.sid, structuredClone(info))
      return Promise.resolve()
    },
    dropLiveSession(node, sid) {
      liveNodes.get(node)?.sessions.delete(sid)
      return Promise.resolve()
    },
    touchNode(node, ttlMs) {
      liveNode(node, ttlMs)
      return Promise.resolve()
    },
    listLiveSessions() {
      const at = now()
      const out: LiveSessionInfo[] = []
      for (const [node, entry] of liveNodes) {
        if (entry.expires <= at) liveNodes.delete(node)
        else for (const info of entry.sessions.values()) out.push(structuredClone(info))
      }
      return Promise.resolve(out)
    },

    close() {
      closed = true
      for (const wake of wakers) wake()
      return Promise.resolve()
    },
  }
}
