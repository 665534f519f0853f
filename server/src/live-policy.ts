import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { VigilError } from '@vigil/client/protocol'
import { affectedBy, applyChange, type Affected } from './policy/changes.js'
import { compilePolicy, type CompiledPolicy } from './policy/index.js'
import type { LogEntry, PolicyStore, TailEvent } from './store/types.js'

/** One step of this node's policy, as the realtime layer needs it to re-decide live sessions. */
export interface PolicyUpdate {
  before: CompiledPolicy
  after: CompiledPolicy
  /** The log entry; absent for a resync, which replaced the whole document. */
  entry?: LogEntry
  affected: Affected
  /** When the change was written to the store (ms since epoch). */
  at: number
}

export interface LivePolicyOptions {
  store: PolicyStore
  /** Without contact from the store for this long, the node fails closed. */
  maxStalenessMs: number
  logger: Logger
  /** Observes each applied update's store→node lag, in ms (metrics). */
  onLag?: (ms: number) => void
  now?: () => number
}

export interface LivePolicy {
  start(): Promise<void>
  /** The compiled policy this node decides with right now. */
  current(): CompiledPolicy
  /** Milliseconds since the store last answered this node's tail. */
  sinceContactMs(): number
  /** True when the node has not heard from the store within the staleness bound. */
  isStale(): boolean
  /**
   * Strong consistency: resolves once this node's policy is at least the store's current version
   * (one Redis read). Throws `policy_stale` if it cannot catch up within the staleness bound.
   */
  ensureFresh(): Promise<void>
  on(event: 'update', listener: (update: PolicyUpdate) => void): void
  off(event: 'update', listener: (update: PolicyUpdate) => void): void
  stop(): Promise<void>
}

/**
 * This node's live copy of the central policy: loaded once, then advanced by tailing the store's
 * change log, so a change reaches every node within milliseconds and none is ever missed.
 *
 * @example
 * ```ts
 * const live = createLivePolicy({ store, maxStalenessMs: 5000, logger })
 * await live.start()
 * live.current().decide(principal, 'doc:read', 'doc/1')
 * ```
 */
export function createLivePolicy(options: LivePolicyOptions): LivePolicy {
  const { store, logger } = options
  const now = options.now ?? Date.now
  const events = new EventEmitter()
  events.setMaxListeners(0)
  const controller = new AbortController()
  let compiled: CompiledPolicy | null = null
  let lastContact = now()
  let loop: Promise<void> | null = null

  function install(update: PolicyUpdate): void {
    compiled = update.after
    options.onLag?.(Math.max(0, now() - update.at))
    events.emit('update', update)
  }

  function onEvent(event: TailEvent): void {
    const before = compiled!
    if (event.kind === 'resync') {
      const after = compilePolicy(event.policy, event.version)
      logger.warn({ version: event.version }, 'policy resynced from the full document')
      install({ before, after, affected: { all: true }, at: event.at })
      return
    }
    const { entry } = event
    if (entry.version <= before.version) return
    const next = applyChange(before.policy, entry.change, entry.at)
    if (!next.ok) {
      // The writer validated this change against the same document; disagreeing means our copy
      // drifted. Reload rather than decide on a document we cannot trust.
      logger.error({ version: entry.version, code: next.code }, 'change did not apply; reloading')
      throw new VigilError('invalid_policy', 'change log entry did not apply')
    }
    const after = compilePolicy(next.policy, entry.version, before)
    install({
      before,
      after,
      entry,
      affected: affectedBy(entry.change, before.policy),
      at: entry.at,
    })
  }

  async function follow(): Promise<void> {
    while (!controller.signal.aborted) {
      try {
        const iterator = store.tail(compiled!.version, {
          signal: controller.signal,
          onContact: (at) => {
            lastContact = at
          },
        })
        for await (const event of iterator) onEvent(event)
      } catch (err) {
        if (controller.signal.aborted) return
        logger.error({ err }, 'policy tail failed; reloading from the store')
        await reload().catch(() => new Promise((r) => setTimeout(r, 500)))
      }
    }
  }

  async function reload(): Promise<void> {
    const snap = await store.load()
    const before = compiled!
    install({
      before,
      after: compilePolicy(snap.policy, snap.version),
      affected: { all: true },
      at: now(),
    })
  }

  function isStale(): boolean {
    return now() - lastContact > options.maxStalenessMs
  }

  // Says so once when the node starts failing closed and once when it recovers, so an operator
  // sees why requests are denied without a line per request.
  let reportedStale = false
  const watchdog = setInterval(
    () => {
      const stale = isStale()
      if (stale === reportedStale) return
      reportedStale = stale
      if (stale) {
        logger.error(
          { sinceContactMs: now() - lastContact, maxStalenessMs: options.maxStalenessMs },
          'policy store unreachable beyond the staleness bound: denying everything (policy_stale)',
        )
      } else logger.warn({ version: compiled?.version }, 'policy store reachable again')
    },
    Math.max(50, Math.floor(options.maxStalenessMs / 4)),
  )
  watchdog.unref()

  return {
    async start() {
      const snap = await store.load()
      compiled = compilePolicy(snap.policy, snap.version)
      lastContact = now()
      logger.info({ version: snap.version, store: store.kind }, 'policy loaded')
      loop = follow()
    },
    current() {
      if (!compiled) throw new TypeError('LivePolicy.start() has not completed')
      return compiled
    },
    sinceContactMs: () => now() - lastContact,
    isStale,
    async ensureFresh() {
      const target = await store.version()
      lastContact = now()
      if (compiled!.version >= target) return
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off('update', check)
          reject(new VigilError('policy_stale', 'this node could not catch up with the store'))
        }, options.maxStalenessMs)
        function check(): void {
          if (compiled!.version < target) return
          clearTimeout(timer)
          events.off('update', check)
          resolve()
        }
        events.on('update', check)
      })
    },
    on: (event, listener) => void events.on(event, listener),
    off: (event, listener) => void events.off(event, listener),
    async stop() {
      clearInterval(watchdog)
      controller.abort()
      await loop
    },
  }
}
