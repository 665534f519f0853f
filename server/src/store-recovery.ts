import type { Logger } from 'pino'
import { planRecovery, type HeldKeys, type LossMode, type Trouble } from './store-trust.js'
import type { DivergenceReason, PolicyStore, Snapshot, StoreHead } from './store/types.js'
import { toPolicy } from './policy/state.js'

/** What a restore did, for the caller of `POST /v1/store/restore` and for the audit log. */
export type RestoreOutcome =
  | {
      ok: true
      /** False when the store already held everything (nothing was written). */
      restored: boolean
      version: number
      revocations: number
      keys: number
    }
  | { ok: false; code: 'conflict'; message: string }

export interface RestoredRecord {
  actor: string
  versionBefore: number
  versionAfter: number
  revocations: number
  keys: number
}

/** Observers of a loss and its recovery (metrics, the audit log, the key ring). */
export interface RecoveryHooks {
  lost?: (reason: DivergenceReason) => void
  recovered?: (how: 'converged' | 'restored') => void
  restored?: (record: RestoredRecord) => void
}

export interface RecoveryDeps {
  store: PolicyStore
  logger: Logger
  now: () => number
  mode: LossMode
  actor: string
  heldKeys: () => HeldKeys
  hooks: RecoveryHooks
  signal: AbortSignal
  installSnapshot: (snap: Snapshot) => void
  contact: () => void
  reclaim: () => Promise<void>
}

/** How often a node in `store_reset` (fail-closed mode) looks at the store again. */
const POLL_MS = 250

/**
 * The way out of `store_reset`. Each round reads the store afresh and plans (store-trust.ts):
 * when the store holds everything the node knew that matters — every revocation, every signing
 * key still in use — the node converges to it. Otherwise, in `restore` mode (or when an operator
 * asks), it writes back what was lost under a compare-and-set on the store's head, so of several
 * nodes racing, one writes and the others find nothing left to do. In `fail-closed` mode it waits
 * for the store to change or an operator to ask.
 */
export function createRecovery(deps: RecoveryDeps) {
  const { store, logger, signal } = deps
  let current: Trouble | null = null
  let manual: { actor: string; resolve: (o: RestoreOutcome) => void } | null = null
  let wake: (() => void) | null = null

  function settle(outcome: RestoreOutcome): void {
    manual?.resolve(outcome)
    manual = null
  }

  async function nap(ms: number, watch?: StoreHead): Promise<void> {
    const started = deps.now()
    while (!signal.aborted && !manual && deps.now() - started < ms * 40) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms)
        wake = done
        function done(): void {
          clearTimeout(timer)
          wake = null
          resolve()
        }
      })
      if (!watch) return
      const head = await store.head().catch(() => undefined)
      if (head === undefined) continue
      deps.contact()
      if (!head || head.head !== watch.head || head.epoch !== watch.epoch) return
    }
  }

  async function round(t: Trouble): Promise<boolean> {
    await deps.reclaim()
    const snap = await store.load()
    const storeKeys = await store.listKeys()
    deps.contact()
    const plan = planRecovery(t, snap, storeKeys, deps.now())
    if (!plan.restore && plan.missingKeys.length === 0) {
      deps.installSnapshot(snap)
      logger.warn(
        { version: snap.version, epoch: snap.epoch, bindingsDiffer: plan.lost.bindingsDiffer },
        'the store holds every revocation and key this node knew: converged to its document',
      )
      deps.hooks.recovered?.('converged')
      settle({ ok: true, restored: false, version: snap.version, revocations: 0, keys: 0 })
      return true
    }
    if (deps.mode !== 'restore' && !manual) {
      logger.error(
        { lostRevocations: plan.lost.count, lostKeys: plan.missingKeys.length },
        'store_reset: waiting for an operator (`vigil store restore`) or for the lost state to return',
      )
      await nap(POLL_MS, snap)
      return false
    }
    const actor = manual?.actor ?? deps.actor
    if (plan.missingKeys.length > 0) {
      await store.restoreKeys(plan.missingKeys, t.known.keys.currentKid)
    }
    let installed: Snapshot = snap
    if (plan.restore) {
      const result = await store.apply(
        {
          type: 'store.restored',
          policy: toPolicy(plan.restore),
          from: { epoch: t.known.head.epoch, version: t.known.head.version, reason: t.reason },
        },
        { ifHead: snap, minVersion: Math.max(t.known.head.version, snap.version) + 1, actor },
      )
      // Another node (or writer) moved the store first: plan again on what it holds now.
      if (!result.ok) return false
      installed = { ...result.head, policy: result.policy }
    }
    deps.installSnapshot(installed)
    const record: RestoredRecord = {
      actor,
      versionBefore: snap.version,
      versionAfter: installed.version,
      revocations: plan.lost.count,
      keys: plan.missingKeys.length,
    }
    logger.warn(record, 'wrote back what the store had lost (store.restored)')
    deps.hooks.restored?.(record)
    deps.hooks.recovered?.('restored')
    settle({
      ok: true,
      restored: true,
      version: installed.version,
      revocations: record.revocations,
      keys: record.keys,
    })
    return true
  }

  return {
    heldKeys: deps.heldKeys,
    /** Resolves once the node may decide again (or the node stops). */
    async run(t: Trouble): Promise<void> {
      current = t
      let failures = 0
      try {
        while (!signal.aborted) {
          try {
            if (await round(t)) return
            failures = 0
          } catch (err) {
            failures += 1
            logger.error({ err }, 'store recovery round failed; trying again')
            await nap(Math.min(50 * 2 ** failures, 2000))
          }
        }
      } finally {
        current = null
      }
    },
    requestRestore(actor: string): Promise<RestoreOutcome> {
      if (!current) {
        return Promise.resolve({
          ok: false,
          code: 'conflict',
          message: 'this node is not in store_reset: it holds no lost state to restore',
        })
      }
      manual?.resolve({ ok: false, code: 'conflict', message: 'superseded by a later request' })
      return new Promise((resolve) => {
        manual = { actor, resolve }
        wake?.()
      })
    },
  }
}
