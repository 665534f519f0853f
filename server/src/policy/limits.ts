import { Map as PMap } from 'immutable'
import type { Policy } from './schema.js'
import type { Section } from './state.js'

/**
 * How large the policy document may grow, per section. Every node holds the whole document in
 * memory and a new node loads it at start, so it needs a ceiling an operator can plan for. The
 * caps are entry counts because a count is checked in O(1) per change; they sit well above the
 * scale Vigil is built for (a million bound subjects, hundreds of thousands of revoked sessions).
 * A change that would cross one is refused with `policy_too_large` (HTTP 413) naming the limit.
 */
export const POLICY_LIMITS = {
  roles: 10_000,
  rules: 100_000,
  bindings: 2_000_000,
  'revocations.subjects': 1_000_000,
  'revocations.sessions': 1_000_000,
  'revocations.tokens': 1_000_000,
  'revocations.issuedBefore': 1_000_000,
} as const

export type LimitedSection = keyof typeof POLICY_LIMITS

export interface TooLarge {
  ok: false
  code: 'policy_too_large'
  message: string
  issues: { path: string; message: string }[]
}

/** How many entries `section` holds: a plain section's own keys, a persistent one's size. */
export function entryCount(section: object): number {
  if (Array.isArray(section)) return section.length
  if (PMap.isMap(section)) return (section as Section<unknown>).size
  return Object.keys(section).length
}

/** The refusal for a change that would make `section` hold more than its cap. */
export function tooLarge(section: LimitedSection): TooLarge {
  const limit = POLICY_LIMITS[section].toLocaleString('en-US')
  return {
    ok: false,
    code: 'policy_too_large',
    message: `the policy document holds at most ${limit} entries in ${section}`,
    issues: [{ path: section, message: `at most ${limit} entries` }],
  }
}

/**
 * `section` with `key` set to `value`, or the refusal when that adds an entry beyond the cap.
 * O(log n) for a persistent section; a copy of the section for the small plain ones (roles).
 */
export function putEntry<T>(
  section: Section<T>,
  key: string,
  value: T,
  name: LimitedSection,
): { ok: true; section: Section<T> } | TooLarge
export function putEntry<T>(
  section: Readonly<Record<string, T>>,
  key: string,
  value: T,
  name: LimitedSection,
): { ok: true; section: Record<string, T> } | TooLarge
export function putEntry<T>(
  section: Section<T> | Readonly<Record<string, T>>,
  key: string,
  value: T,
  name: LimitedSection,
): { ok: true; section: Section<T> | Record<string, T> } | TooLarge {
  if (PMap.isMap(section)) {
    const map = section as Section<T>
    if (!map.has(key) && map.size + 1 > POLICY_LIMITS[name]) return tooLarge(name)
    return { ok: true, section: map.set(key, value) }
  }
  const record = section as Readonly<Record<string, T>>
  const count = entryCount(record) + (Object.hasOwn(record, key) ? 0 : 1)
  if (count > POLICY_LIMITS[name]) return tooLarge(name)
  return { ok: true, section: { ...record, [key]: value } }
}

/** The first section of a whole JSON document that is over its cap, as a refusal; O(document). */
export function documentTooLarge(policy: Policy): TooLarge | null {
  const sizes: [LimitedSection, object][] = [
    ['roles', policy.roles],
    ['rules', policy.rules],
    ['bindings', policy.bindings],
    ['revocations.subjects', policy.revocations.subjects],
    ['revocations.sessions', policy.revocations.sessions],
    ['revocations.tokens', policy.revocations.tokens],
    ['revocations.issuedBefore', policy.revocations.issuedBefore],
  ]
  for (const [name, section] of sizes) {
    if (entryCount(section) > POLICY_LIMITS[name]) return tooLarge(name)
  }
  return null
}
