import { applyChange, parseChange } from '../policy/changes.js'
import { chainHash, newEpoch } from './chain.js'
import { createMemoryDueIndex } from './due-index.js'
import { createMemoryRefresh } from './memory-refresh.js'
import { createPruning } from './pruning.js'
import { emptyPolicy, type Change } from '../policy/schema.js'
import { toState, type PolicyState } from '../policy/state.js'
import type {
  DeploymentIdentity,
  StoreHead,
  ApplyOptions,
  ApplyResult,
  LiveSessionInfo,
  LogEntry,
  PolicyStore,
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

/** What the memory store holds, by kind: the state that pruning keeps bounded. */
export interface MemoryStoreSizes {
  /** Refresh families (one per session whose last token has not expired). */
  families: number
  sessionRevocations: number
  tokenRevocations: number
  /** Revocations waiting in the expiry index. */
  due: number
  logEntries: number
}

/** The memory store; `sizes()` shows what it holds (tests, the state benchmark). */
export interface MemoryStore extends PolicyStore {
  sizes(): Promise<MemoryStoreSizes>
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
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const now = options.now ?? Date.now
  const logLimit = options.logLimit ?? 10_000
  const contactIntervalMs = options.contactIntervalMs ?? 500
  if (!Number.isInteger(logLimit) || logLimit < 1) {
    throw new TypeError('logLimit must be a positive integer')
  }

  let policy: PolicyState = toState(emptyPolicy())
  let version = 0
  // A process-local store cannot lose its history, but it keeps the same chain as Redis so
  // every reader can check one contract (`chain.ts`).
  const epoch = newEpoch()
  let head = epoch
  const headOf = (): StoreHead => ({ epoch, version, head })
  /** The last version dropped from the front of the log; a reader behind it needs a resync. */
  let trimmedThrough = 0
  let deployment: DeploymentIdentity | null = null
  const log: LogEntry[] = []
  const wakers = new Set<() => void>()
  const keys = new Map<string, StoredKey>()
  let currentKid: string | null = null
  const refresh = createMemoryRefresh()
  const due = createMemoryDueIndex()
  const pruning = createPruning({
    apply: (change, opts) => apply(change, opts),
    index: due,
    lookup: ({ sessions, tokens }) =>
      Promise.resolve({
        sessions: sessions.map((id) => policy.revocations.sessions.get(id)),
        tokens: tokens.map((id) => policy.revocations.tokens.get(id)),
      }),
  })
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
    const wanted = opts.ifHead
    if (wanted && (wanted.epoch !== epoch || wanted.head !== head || wanted.version !== version)) {
      return Promise.resolve({
        ok: false,
        code: 'conflict',
        message: 'the store moved on from the history this change was built on',
        version,
      })
    }
    const at = now()
    const result = applyChange(policy, parsed.change, at)
    if (!result.ok) return Promise.resolve(result)
    const previousVersion = version
    policy = result.policy
    version = Math.max(version + 1, opts.minVersion ?? 0)
    const body = JSON.stringify({ change: parsed.change, at, actor: opts.actor })
    const prev = head
    head = chainHash(prev, version, body)
    const entry: LogEntry = { version, change: parsed.change, at, hash: head, prev }
    if (opts.actor !== undefined) entry.actor = opts.actor
    log.push(entry)
    if (log.length > logLimit) {
      trimmedThrough = log.splice(0, log.length - logLimit).at(-1)!.version
    }
    for (const wake of wakers) wake()
    return Promise.resolve({ ok: true, version, previousVersion, at, policy, head: headOf() })
  }

  async function* tail(fromVersion: number, opts: TailOptions = {}): AsyncGenerator<TailEvent> {
    let last = fromVersion
    while (!closed && !opts.signal?.aborted) {
      opts.onContact?.(now())
      if (version < last) {
        // The reader claims a history this store never had: let it judge the head.
        yield { kind: 'head', head: headOf() }
        await waitForChange(opts.signal)
        continue
      }
      if (last < trimmedThrough) {
        // Behind the trimmed log: hand the reader the document.
        last = version
        yield { kind: 'resync', ...headOf(), policy, at: now() }
        continue
      }
      // Versions may jump (a restore continues above what readers saw), so find by version.
      const start = firstAfter(last)
      const first = start === -1 ? undefined : log[start]
      if (first !== undefined) {
        for (const entry of log.slice(start)) {
          last = entry.version
          yield { kind: 'change', entry }
          if (opts.signal?.aborted) return
        }
        continue
      }
      if (await waitForChange(opts.signal)) yield { kind: 'head', head: headOf() }
    }
  }

  /** The index of the first entry after `version` (-1: none); versions ascend, possibly with jumps. */
  function firstAfter(after: number): number {
    let lo = 0
    let hi = log.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (log[mid]!.version > after) hi = mid
      else lo = mid + 1
    }
    return lo < log.length ? lo : -1
  }

  /** Resolves true when the wait timed out quietly, false when a change (or abort) woke it. */
  function waitForChange(signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => wake(true), contactIntervalMs)
      const wake = (quiet = false): void => {
        clearTimeout(timer)
        wakers.delete(wake)
        signal?.removeEventListener('abort', onAbort)
        resolve(quiet)
      }
      const onAbort = (): void => wake()
      wakers.add(wake)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  return {
    kind: 'memory',
    load: () => Promise.resolve({ ...headOf(), policy }),
    version: () => Promise.resolve(version),
    head: () => Promise.resolve(headOf()),
    apply: pruning.apply,
    tail,
    readLog(fromVersion, toVersion) {
      if (toVersion <= fromVersion) return Promise.resolve([])
      if (fromVersion < trimmedThrough || toVersion > version) return Promise.resolve(null)
      return Promise.resolve(log.filter((e) => e.version > fromVersion && e.version <= toVersion))
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
    claimDeployment(candidate) {
      deployment ??= structuredClone(candidate)
      return Promise.resolve(structuredClone(deployment))
    },
    restoreKeys(stored, kid) {
      let written = 0
      for (const key of stored) {
        if (keys.has(key.kid)) continue
        keys.set(key.kid, structuredClone(key))
        written += 1
      }
      if (currentKid === null && kid !== null && keys.has(kid)) currentKid = kid
      return Promise.resolve(written)
    },
    pruneKeys(nowMs) {
      for (const [kid, key] of keys) {
        if (key.retireAt !== undefined && key.retireAt <= nowMs && kid !== currentKid) {
          keys.delete(kid)
        }
      }
      return Promise.resolve()
    },

    saveRefresh: refresh.saveRefresh,
    getRefresh: refresh.getRefresh,
    rotateRefresh: refresh.rotateRefresh,
    revokeFamily: refresh.revokeFamily,
    async sizes() {
      return {
        families: refresh.size,
        sessionRevocations: policy.revocations.sessions.size,
        tokenRevocations: policy.revocations.tokens.size,
        due: await due.size(),
        logEntries: log.length,
      }
    },
    async prune(nowMs, opts) {
      const result = await pruning.prune(nowMs, opts)
      for (const [node, entry] of liveNodes) if (entry.expires <= nowMs) liveNodes.delete(node)
      return { ...result, families: refresh.prune(nowMs) }
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
