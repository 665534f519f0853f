import { parseChange } from '../policy/changes.js'
import { PRUNE_BATCH, type Change } from '../policy/schema.js'
import type { PolicyState } from '../policy/state.js'
import type { DueIndex, DueItem, DueMember } from './due-index.js'
import type { ApplyOptions, ApplyResult, PruneOptions, PruneResult } from './types.js'

/**
 * Revocation pruning, shared by both stores. A session or token revocation with an `until` is
 * recorded in an expiry index as it is written; `prune` takes a bounded batch of due ones from
 * the index, checks each against the document, and drops those whose `until` has passed with one
 * `revoke.prune` change, which every node applies like any other. Nothing scans a section: a
 * change costs what it did before, plus O(log n) for the index, and a prune O(batch).
 *
 * @module
 */

/** The `until` of each listed revocation as the document holds it now (undefined: none). */
export type RevocationLookup = (ids: {
  sessions: readonly string[]
  tokens: readonly string[]
}) => Promise<{
  sessions: ({ until?: number } | undefined)[]
  tokens: ({ until?: number } | undefined)[]
}>

type Apply = (change: Change, options?: ApplyOptions) => Promise<ApplyResult>

/** Past `until`, a revocation is kept this much longer, for clocks that run behind. @default 120 */
export const PRUNE_GRACE_S = 120
/** A claimed batch is hidden from other pruners this long; a crashed pruner's batch then returns. */
const LEASE_S = 300
const PRUNER_ACTOR = 'vigil:pruner'

/** The index entries a change makes due: its revocation's `until`, or a whole new document's. */
function dueOf(change: Change, after?: PolicyState): DueItem[] {
  if (change.type === 'batch') return change.changes.flatMap((member) => dueOf(member))
  if (change.type === 'revoke') {
    const t = change.target
    if (t.kind === 'session' && t.until !== undefined)
      return [{ member: `s:${t.session}`, until: t.until }]
    if (t.kind === 'token' && t.until !== undefined)
      return [{ member: `t:${t.jti}`, until: t.until }]
    return []
  }
  if ((change.type === 'policy.replace' || change.type === 'store.restored') && after) {
    const items: DueItem[] = []
    for (const [id, e] of after.revocations.sessions) {
      if (e.until !== undefined) items.push({ member: `s:${id}`, until: e.until })
    }
    for (const [id, e] of after.revocations.tokens) {
      if (e.until !== undefined) items.push({ member: `t:${id}`, until: e.until })
    }
    return items
  }
  return []
}

/**
 * Wraps a store's `apply` so that every revocation with an `until` is indexed, and adds `prune`.
 * A revocation is indexed *before* it is written: if the write then fails, the index holds an id
 * the document lacks, which the next prune drops; the other order could lose an entry for good.
 * The index write is sent, not awaited, before the change: one connection runs commands in the
 * order they were sent, so it lands first without costing a round trip of its own.
 */
export function createPruning(options: {
  apply: Apply
  index: DueIndex
  lookup: RevocationLookup
}): { apply: Apply; prune(nowMs: number, options?: PruneOptions): Promise<PruneResult> } {
  const { index, lookup } = options

  async function apply(input: Change, opts?: ApplyOptions): Promise<ApplyResult> {
    const parsed = parseChange(input)
    if (!parsed.ok) return parsed
    const change = parsed.change
    const before = dueOf(change)
    // An index write that failed alone leaves one revocation to be lifted by hand, never one
    // lifted early: not worth failing a revocation that was written.
    const indexed = before.length > 0 ? index.put(before).catch(() => {}) : undefined
    const result = await options.apply(change, opts)
    await indexed
    // A whole document is indexed once it is written; it is O(document) like the write itself.
    if (result.ok && before.length === 0) {
      const after = dueOf(change, result.policy)
      if (after.length > 0) await index.put(after)
    }
    return result
  }

  async function prune(nowMs: number, opts: PruneOptions = {}): Promise<PruneResult> {
    const graceS = opts.graceS ?? PRUNE_GRACE_S
    const limit = Math.min(opts.limit ?? PRUNE_BATCH, PRUNE_BATCH)
    const nowS = Math.floor(nowMs / 1000)
    // `until` has passed by more than the grace: until < nowS - graceS.
    const cutoff = nowS - graceS - 1
    const claimed = await index.claim(cutoff, limit, nowS + LEASE_S)
    const none: PruneResult = { revocations: 0, families: 0, more: false }
    if (claimed.length === 0) return none
    const more = claimed.length === limit
    const sessions = claimed.filter((m) => m.startsWith('s:')).map((m) => m.slice(2))
    const tokens = claimed.filter((m) => m.startsWith('t:')).map((m) => m.slice(2))
    const found = await lookup({ sessions, tokens })

    // Whatever is not due after all goes back to its real `until`, or leaves the index.
    const settle: DueItem[] = []
    const due = { sessions: [] as string[], tokens: [] as string[] }
    const sort = (ids: string[], entries: ({ until?: number } | undefined)[], kind: 's' | 't') => {
      ids.forEach((id, i) => {
        const until = entries[i]?.until
        const member: DueMember = `${kind}:${id}`
        if (until !== undefined && until <= cutoff) {
          ;(kind === 's' ? due.sessions : due.tokens).push(id)
        } else settle.push({ member, until: until ?? null })
      })
    }
    sort(sessions, found.sessions, 's')
    sort(tokens, found.tokens, 't')
    if (settle.length > 0) await index.put(settle)
    if (due.sessions.length + due.tokens.length === 0) return { ...none, more }

    const result = await options.apply(
      { type: 'revoke.prune', sessions: due.sessions, tokens: due.tokens },
      { actor: PRUNER_ACTOR },
    )
    // Refused (another pruner or a new revocation got there first): the lease hands the batch
    // back later, and the next look decides again.
    if (!result.ok) return { ...none, more }
    const { revocations } = result.policy
    const after: DueItem[] = [
      ...due.sessions.map((id) => ({
        member: `s:${id}` as const,
        until: revocations.sessions.get(id)?.until ?? null,
      })),
      ...due.tokens.map((id) => ({
        member: `t:${id}` as const,
        until: revocations.tokens.get(id)?.until ?? null,
      })),
    ]
    await index.put(after)
    const pruned =
      due.sessions.filter((id) => !revocations.sessions.has(id)).length +
      due.tokens.filter((id) => !revocations.tokens.has(id)).length
    return { revocations: pruned, families: 0, more, version: result.version }
  }

  return { apply, prune }
}
