/**
 * The policy as nodes hold it: the sections that grow with users — bindings and the four
 * revocation maps — are persistent hash maps (immutable.js `Map`, a HAMT), the small ones (roles,
 * rules, group claims) plain objects. A change then costs O(log₃₂ n) for the entries it touches
 * and shares every other node of the tree with the version before, so a revocation costs the
 * same with a million subjects as with a thousand, and a reader holding version v keeps seeing v.
 *
 * Measured before choosing (`node /tmp`-style loop, 100k random `set`s, this machine): 0.8 µs at
 * 1k entries, 3.1 µs at 100k, 5.6 µs at 1M; `get` 0.2–1.2 µs. Spreading a plain object costs
 * 139 ms at 100k (issue #14). Mutable maps with a versioned overlay would need their own
 * compaction and snapshot rules; a well-kept library already has them.
 *
 * The JSON document (`Policy`, validated by `PolicySchema`) remains the wire and API form;
 * `toState` and `toPolicy` convert, in O(document), only where a whole document crosses.
 *
 * @module
 */

import { Map as PMap } from 'immutable'
import type { Policy, Revocations } from './schema.js'

/** A persistent map section: every `set`/`delete` returns a new map and shares the rest. */
export type Section<T> = PMap<string, T>

type Entry<S> = S extends Readonly<Record<string, infer T>> ? T : never

export type Binding = string[]
export type SubjectRevocation = Entry<Revocations['subjects']>
export type SessionRevocation = Entry<Revocations['sessions']>
export type TokenRevocation = Entry<Revocations['tokens']>
export type IssuedBeforeRevocation = Entry<Revocations['issuedBefore']>

export interface RevocationState {
  readonly subjects: Section<SubjectRevocation>
  readonly sessions: Section<SessionRevocation>
  readonly tokens: Section<TokenRevocation>
  readonly issuedBefore: Section<IssuedBeforeRevocation>
}

/** One policy version. Never mutated: a change builds the next one. */
export interface PolicyState {
  readonly roles: Policy['roles']
  readonly rules: Policy['rules']
  readonly groupClaims: Policy['groupClaims']
  readonly bindings: Section<Binding>
  readonly revocations: RevocationState
}

/** The persistent sections, by the name their Redis hash and size limit use. */
export const MAP_SECTIONS = ['bindings', 'subjects', 'sessions', 'tokens', 'issuedBefore'] as const
export type MapSection = (typeof MAP_SECTIONS)[number]

/** The small sections, stored whole. */
export const META_SECTIONS = ['roles', 'rules', 'groupClaims'] as const
export type MetaSection = (typeof META_SECTIONS)[number]

const converted = new WeakMap<Policy, PolicyState>()

function sectionOf<T>(record: Readonly<Record<string, T>>): Section<T> {
  return PMap<string, T>().withMutations((m) => {
    for (const key of Object.keys(record)) m.set(key, record[key]!)
  })
}

function recordOf<T>(section: Section<T>): Record<string, T> {
  const out: Record<string, T> = {}
  for (const [key, value] of section) out[key] = value
  return out
}

/** True for a `PolicyState` (as opposed to a JSON document). */
export function isPolicyState(value: Policy | PolicyState): value is PolicyState {
  return PMap.isMap(value.bindings)
}

/**
 * The state of a validated JSON document; O(document), once per document object.
 *
 * @example
 * ```ts
 * const state = toState(PolicySchema.parse(json))
 * state.bindings.get('alice') // ['editor']
 * ```
 */
export function toState(policy: Policy | PolicyState): PolicyState {
  if (isPolicyState(policy)) return policy
  let state = converted.get(policy)
  if (state === undefined) {
    const r = policy.revocations
    state = Object.freeze({
      roles: policy.roles,
      rules: policy.rules,
      groupClaims: policy.groupClaims,
      bindings: sectionOf(policy.bindings),
      revocations: Object.freeze({
        subjects: sectionOf(r.subjects),
        sessions: sectionOf(r.sessions),
        tokens: sectionOf(r.tokens),
        issuedBefore: sectionOf(r.issuedBefore),
      }),
    })
    converted.set(policy, state)
  }
  return state
}

/**
 * The JSON document of a state, for `GET /v1/policy`, exports and whole-document writes;
 * O(document).
 *
 * @example
 * ```ts
 * res.json({ version, policy: toPolicy(snap.policy) })
 * ```
 */
export function toPolicy(state: PolicyState | Policy): Policy {
  if (!isPolicyState(state)) return state
  const r = state.revocations
  return {
    roles: state.roles,
    bindings: recordOf(state.bindings),
    rules: state.rules,
    revocations: {
      subjects: recordOf(r.subjects),
      sessions: recordOf(r.sessions),
      tokens: recordOf(r.tokens),
      issuedBefore: recordOf(r.issuedBefore),
    },
    groupClaims: state.groupClaims,
  }
}

/** The persistent section `name` of `state`. */
export function mapSection(state: PolicyState, name: MapSection): Section<unknown> {
  return name === 'bindings' ? state.bindings : state.revocations[name]
}

/** `state` with the persistent section `name` replaced. */
export function withSection(
  state: PolicyState,
  name: MapSection,
  section: Section<unknown>,
): PolicyState {
  if (name === 'bindings') return { ...state, bindings: section as Section<Binding> }
  return { ...state, revocations: { ...state.revocations, [name]: section } }
}
