import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { VigilError } from '@vigil-enforcer/client/protocol'
import { applyChange } from './policy/changes.js'
import { affectedBy, type Affected } from './policy/affected.js'
import { createListeningClock } from './listening-clock.js'
import { compilePolicy, type CompiledPolicy } from './policy/index.js'
import { createRecovery, type RecoveryHooks, type RestoreOutcome } from './store-recovery.js'
import {
  describeTrouble,
  judge,
  type HeldKeys,
  type LossMode,
  type Trouble,
} from './store-trust.js'
import type { LogEntry, PolicyStore, Snapshot, StoreHead, TailEvent } from './store/types.js'

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
  /** When the store lost acknowledged state: deny until an operator restores, or restore. @default 'restore' */
  onLoss?: LossMode
  /** The signing keys this node holds (a restore writes back those the store lost). */
  heldKeys?: () => HeldKeys
  /** Told when the store is found to have lost state, and when the node recovers. */
  hooks?: RecoveryHooks
  /** Who a restore is written as in the change log and audit log. @default 'node' */
  actor?: string
  /** Run before each recovery round: writes back what else the store forgot (the deployment). */
  reclaim?: () => Promise<void>
}

/** Why this node denies everything right now. */
export interface Failure {
  code: 'policy_stale' | 'store_reset'
  message: string
}

export interface LivePolicy {
  start(): Promise<void>
  /** The compiled policy this node decides with right now. */
  current(): CompiledPolicy
  /** The store history this node has followed up to now. */
  head(): StoreHead
  /** Milliseconds since the store last answered this node. */
  sinceContactMs(): number
  /** True when the node has not heard from the store within the staleness bound. */
  isStale(): boolean
  /** Why the node fails closed (`store_reset` after a loss, `policy_stale`), or null. */
  failure(): Failure | null
  /**
   * Strong consistency: resolves once this node's policy is at least the store's current version
   * (one Redis read). Throws `policy_stale` if it cannot catch up within the staleness bound, and
   * `store_reset` when the store no longer holds the history this node followed.
   */
  ensureFresh(): Promise<void>
  /** Writes what the store lost back from this node's copy (in `restore` mode it does so itself). */
  restore(actor: string): Promise<RestoreOutcome>
  on(event: 'update', listener: (update: PolicyUpdate) => void): void
  off(event: 'update', listener: (update: PolicyUpdate) => void): void
  stop(): Promise<void>
}

/**
 * This node's live copy of the central policy: loaded once, then advanced by tailing the store's
 * change log, so a change reaches every node within milliseconds and none is ever missed. Every
 * entry must chain to the one before it; a store that was emptied, rolled back or diverged puts
 * the node in `store_reset` (deny everything) until what it lost is back (store-recovery.ts).
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
  let mine: StoreHead = { epoch: '', version: 0, head: '' }
  let lastContact = now()
  // Staleness counts only time the loop was free to hear the store: see listening-clock.ts.
  const listening = createListeningClock()
  let heard = listening.now()
  const noteContact = (at = now()): void => {
    lastContact = at
    heard = listening.now()
  }
  let loop: Promise<void> | null = null
  let trouble: Trouble | null = null

  function install(update: PolicyUpdate): void {
    compiled = update.after
    options.onLag?.(Math.max(0, now() - update.at))
    events.emit('update', update)
  }

  /** Replaces the whole document (start, resync, recovery): every live session is re-decided. */
  function installSnapshot(snap: Snapshot, at = now()): void {
    mine = { epoch: snap.epoch, version: snap.version, head: snap.head }
    const before = compiled
    const after = compilePolicy(snap.policy, snap.version)
    if (!before) compiled = after
    else install({ before, after, affected: { all: true }, at })
  }

  const recovery = createRecovery({
    store,
    logger,
    now,
    mode: options.onLoss ?? 'restore',
    actor: options.actor ?? 'node',
    heldKeys: options.heldKeys ?? (() => ({ keys: [], currentKid: null })),
    hooks: options.hooks ?? {},
    signal: controller.signal,
    installSnapshot,
    contact: () => noteContact(),
    reclaim: options.reclaim ?? (() => Promise.resolve()),
  })

  /** Applies one tail event; returns why the history no longer holds, or null. */
  function onEvent(event: TailEvent): Trouble['reason'] | null {
    const reason = judge(mine, event)
    if (reason) return reason
    if (event.kind === 'head') return null
    if (event.kind === 'resync') {
      logger.warn({ version: event.version }, 'policy resynced from the full document')
      installSnapshot(event, event.at)
      return null
    }
    const before = compiled!
    const { entry } = event
    if (entry.version <= mine.version) return null
    const next = applyChange(before.policy, entry.change, entry.at)
    if (!next.ok) {
      // The writer validated this change against the same document; disagreeing means our copy
      // drifted. Reload rather than decide on a document we cannot trust.
      logger.error({ version: entry.version, code: next.code }, 'change did not apply; reloading')
      throw new VigilError('invalid_policy', 'change log entry did not apply')
    }
    mine = { epoch: mine.epoch, version: entry.version, head: entry.hash }
    const after = compilePolicy(next.policy, entry.version, before)
    install({
      before,
      after,
      entry,
      affected: affectedBy(entry.change, before.policy),
      at: entry.at,
    })
    return null
  }

  async function follow(): Promise<void> {
    while (!controller.signal.aborted) {
      try {
        let lost: Trouble['reason'] | null = null
        const iterator = store.tail(mine.version, {
          signal: controller.signal,
          onContact: (at) => noteContact(at),
        })
        for await (const event of iterator) {
          lost = onEvent(event)
          if (lost) break
        }
        if (lost) await recover(lost)
      } catch (err) {
        if (controller.signal.aborted) return
        logger.error({ err }, 'policy tail failed; reloading from the store')
        await reload().catch(() => new Promise((r) => setTimeout(r, 500)))
      }
    }
  }

  async function recover(reason: Trouble['reason']): Promise<void> {
    const observed = await store.head().catch(() => null)
    trouble = {
      reason,
      since: now(),
      observed,
      known: { policy: compiled!.policy, head: mine, keys: recovery.heldKeys() },
    }
    logger.error(
      { reason, known: mine, observed },
      `${describeTrouble(trouble)}; denying everything (store_reset) until what was lost is back`,
    )
    options.hooks?.lost?.(reason)
    await recovery.run(trouble)
    trouble = null
  }

  async function reload(): Promise<void> {
    const snap = await store.load()
    const reason = judge(mine, { kind: 'resync', ...snap, at: now() })
    if (reason) return recover(reason)
    installSnapshot(snap)
  }

  function isStale(): boolean {
    return listening.now() - heard > options.maxStalenessMs
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

  function failure(): Failure | null {
    if (trouble) return { code: 'store_reset', message: describeTrouble(trouble) }
    if (isStale()) {
      return {
        code: 'policy_stale',
        message: `no contact with the policy store for ${now() - lastContact} ms`,
      }
    }
    return null
  }

  return {
    async start() {
      const snap = await store.load()
      installSnapshot(snap)
      noteContact()
      logger.info({ version: snap.version, epoch: snap.epoch, store: store.kind }, 'policy loaded')
      loop = follow()
    },
    current() {
      if (!compiled) throw new TypeError('LivePolicy.start() has not completed')
      return compiled
    },
    head: () => mine,
    sinceContactMs: () => now() - lastContact,
    isStale,
    failure,
    async ensureFresh() {
      if (trouble) throw new VigilError('store_reset', describeTrouble(trouble))
      const head = await store.head()
      noteContact()
      const reason = judge(mine, { kind: 'head', head })
      if (reason) {
        throw new VigilError(
          'store_reset',
          'the store no longer holds the history this node followed',
        )
      }
      const target = head!.version
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
    restore: (actor) => recovery.requestRestore(actor),
    on: (event, listener) => void events.on(event, listener),
    off: (event, listener) => void events.off(event, listener),
    async stop() {
      clearInterval(watchdog)
      listening.stop()
      controller.abort()
      await loop
    },
  }
}
