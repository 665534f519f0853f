import type { Revocations } from './schema.js'
import type { PolicyState, Section } from './state.js'

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
export function lostState(known: PolicyState, store: PolicyState, nowMs: number): LostState {
  const had = known.revocations
  const has = store.revocations
  const out: Revocations = { subjects: {}, sessions: {}, tokens: {}, issuedBefore: {} }
  let count = 0
  for (const [k, v] of had.subjects) {
    if (!has.subjects.has(k)) ((out.subjects[k] = v), count++)
  }
  for (const [k, v] of had.sessions) {
    if (!has.sessions.has(k)) ((out.sessions[k] = v), count++)
  }
  const cutoff = nowMs / 1000 - TOKEN_GRACE_S
  for (const [k, v] of had.tokens) {
    if (v.until !== undefined && v.until < cutoff) continue
    if (!has.tokens.has(k)) ((out.tokens[k] = v), count++)
  }
  for (const [k, v] of had.issuedBefore) {
    const now = has.issuedBefore.get(k)?.before ?? -1
    if (now < v.before) ((out.issuedBefore[k] = v), count++)
  }
  let bindingsDiffer = 0
  for (const [k, roles] of known.bindings) {
    const other = store.bindings.get(k) ?? []
    if (roles.length !== other.length || roles.some((r) => !other.includes(r))) bindingsDiffer++
  }
  for (const k of store.bindings.keys()) {
    if (!known.bindings.has(k)) bindingsDiffer++
  }
  return { revocations: out, count, bindingsDiffer }
}

/** `base` with every revocation of `extra` added (the stronger one where both hold one). */
export function withRevocations(base: PolicyState, extra: Revocations): PolicyState {
  const r = base.revocations
  const addMissing = <T>(section: Section<T>, more: Readonly<Record<string, T>>): Section<T> =>
    section.withMutations((m) => {
      for (const [k, v] of Object.entries(more)) if (!m.has(k)) m.set(k, v)
    })
  const issuedBefore = r.issuedBefore.withMutations((m) => {
    for (const [k, v] of Object.entries(extra.issuedBefore)) {
      if ((m.get(k)?.before ?? -1) < v.before) m.set(k, v)
    }
  })
  return {
    ...base,
    revocations: {
      subjects: addMissing(r.subjects, extra.subjects),
      sessions: addMissing(r.sessions, extra.sessions),
      tokens: addMissing(r.tokens, extra.tokens),
      issuedBefore,
    },
  }
}
