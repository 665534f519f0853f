import type { Policy, Revocations } from './schema.js'

/** Token revocations outlive their token by this much (as in changes.ts), for clock skew. */
const TOKEN_GRACE_S = 120

/** What a node knew that the store no longer holds, counted per kind for logs and metrics. */
export interface LostState {
  revocations: Revocations
  /** Entries in `revocations`: zero means nothing revoked was lost. */
  count: number
  /** Principal keys whose role bindings differ between the two documents (logged, not merged). */
  bindingsDiffer: number
}

/**
 * The revocations `known` holds that `store` lacks (or holds weaker: an earlier `issued_before`),
 * ignoring token revocations whose token can no longer be valid. A revocation is the one kind of
 * state a lost write must never undo, so this is what a node checks before it trusts a store
 * that went back in time. O(revocations of `known`), paid only after a loss.
 */
export function lostState(known: Policy, store: Policy, nowMs: number): LostState {
  const had = known.revocations
  const has = store.revocations
  const out: Revocations = { subjects: {}, sessions: {}, tokens: {}, issuedBefore: {} }
  let count = 0
  for (const [k, v] of Object.entries(had.subjects)) {
    if (!Object.hasOwn(has.subjects, k)) ((out.subjects[k] = v), count++)
  }
  for (const [k, v] of Object.entries(had.sessions)) {
    if (!Object.hasOwn(has.sessions, k)) ((out.sessions[k] = v), count++)
  }
  const cutoff = nowMs / 1000 - TOKEN_GRACE_S
  for (const [k, v] of Object.entries(had.tokens)) {
    if (v.until !== undefined && v.until < cutoff) continue
    if (!Object.hasOwn(has.tokens, k)) ((out.tokens[k] = v), count++)
  }
  for (const [k, v] of Object.entries(had.issuedBefore)) {
    const now = Object.hasOwn(has.issuedBefore, k) ? has.issuedBefore[k]!.before : -1
    if (now < v.before) ((out.issuedBefore[k] = v), count++)
  }
  let bindingsDiffer = 0
  for (const [k, roles] of Object.entries(known.bindings)) {
    const other = Object.hasOwn(store.bindings, k) ? store.bindings[k]! : []
    if (roles.length !== other.length || roles.some((r) => !other.includes(r))) bindingsDiffer++
  }
  for (const k of Object.keys(store.bindings)) {
    if (!Object.hasOwn(known.bindings, k)) bindingsDiffer++
  }
  return { revocations: out, count, bindingsDiffer }
}

/** `base` with every revocation of `extra` added (the stronger one where both hold one). */
export function withRevocations(base: Policy, extra: Revocations): Policy {
  const r = base.revocations
  const issuedBefore = { ...r.issuedBefore }
  for (const [k, v] of Object.entries(extra.issuedBefore)) {
    if ((issuedBefore[k]?.before ?? -1) < v.before) issuedBefore[k] = v
  }
  return {
    ...base,
    revocations: {
      subjects: { ...extra.subjects, ...r.subjects },
      sessions: { ...extra.sessions, ...r.sessions },
      tokens: { ...extra.tokens, ...r.tokens },
      issuedBefore,
    },
  }
}
