import { lostState, withRevocations, type LostState } from './policy/lost-state.js'
import { toPolicy, type PolicyState } from './policy/state.js'
import type { DivergenceReason, Snapshot, StoreHead, StoredKey, TailEvent } from './store/types.js'

/**
 * How a node judges the history it follows, and what it does when the store lost acknowledged
 * state. Pure functions: live-policy.ts runs them, the tests check them.
 */

/** What the node does when the store lost acknowledged state. */
export type LossMode = 'fail-closed' | 'restore'

/** The signing keys this node holds, so a restore can write back the ones the store lost. */
export interface HeldKeys {
  keys: StoredKey[]
  currentKid: string | null
}

/** Why a node fails closed with `store_reset`, and what it knew before. */
export interface Trouble {
  reason: DivergenceReason
  since: number
  /** The store's head when the node noticed (null: no epoch). */
  observed: StoreHead | null
  /** The node's own document, head and keys at that moment: what a restore writes back. */
  known: { policy: PolicyState; head: StoreHead; keys: HeldKeys }
}

/**
 * Whether `event` continues the history `mine` describes; the reason when it does not.
 * A head that is ahead of ours is fine: its entries are on their way.
 */
export function judge(mine: StoreHead, event: TailEvent): DivergenceReason | null {
  switch (event.kind) {
    case 'change': {
      if (event.entry.version <= mine.version) return null // already applied: skip it
      return event.entry.prev === mine.head ? null : 'chain_broken'
    }
    case 'resync':
    case 'head': {
      const head = event.kind === 'head' ? event.head : event
      if (head === null) return 'epoch_missing'
      if (head.epoch !== mine.epoch) return 'epoch_changed'
      if (head.version < mine.version) return 'version_back'
      if (head.version === mine.version && head.head !== mine.head) return 'chain_broken'
      return null
    }
  }
}

/** What recovery must write, judged on a fresh snapshot of the store. */
export interface RecoveryPlan {
  lost: LostState
  /** Keys the node holds (and that still verify) which the store lacks. */
  missingKeys: StoredKey[]
  /** The document to write back, or null when the store already holds all that matters. */
  restore: PolicyState | null
}

/**
 * After an emptied or replaced store (a new epoch) the node's own document is the truth, with
 * any revocation written since added; after a rollback within the same epoch the store's
 * document is, with every revocation the node knew added back. Either way, nothing revoked is
 * admitted again. Role and rule changes that the rollback lost are logged, not guessed at.
 */
export function planRecovery(
  trouble: Trouble,
  snap: Snapshot,
  storeKeys: StoredKey[],
  nowMs: number,
): RecoveryPlan {
  const { known } = trouble
  const lost = lostState(known.policy, snap.policy, nowMs)
  const present = new Set(storeKeys.map((k) => k.kid))
  const missingKeys = known.keys.keys.filter(
    (k) => !present.has(k.kid) && (k.retireAt === undefined || k.retireAt > nowMs),
  )
  const newEpoch = snap.epoch !== known.head.epoch
  let restore: PolicyState | null = null
  if (newEpoch && snap.version < known.head.version) {
    restore = withRevocations(known.policy, toPolicy(snap.policy).revocations)
  } else if (lost.count > 0) {
    restore = withRevocations(snap.policy, lost.revocations)
  }
  return { lost, missingKeys, restore }
}

/** One line for the error log: what the node saw, without any secret. */
export function describeTrouble(t: Trouble): string {
  const seen = t.observed
    ? `epoch ${t.observed.epoch} at version ${t.observed.version}`
    : 'no epoch at all'
  const what: Record<DivergenceReason, string> = {
    epoch_missing: 'the store was emptied',
    epoch_changed: 'the store was replaced by another one',
    version_back: 'the store went back in time (restored from an older snapshot or failed over)',
    chain_broken: 'the store holds a history that diverged from the one this node followed',
  }
  return (
    `${what[t.reason]}: this node knew epoch ${t.known.head.epoch} at version ` +
    `${t.known.head.version}, the store shows ${seen}`
  )
}
