import type { Policy } from './schema.js'

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

/**
 * Entry counts of section objects. Sections are copy-on-write, so each change records the count
 * of the section it builds from its predecessor's (±1) and nothing is ever counted twice; only a
 * section that arrived some other way (a load, a replace) is counted once, by its keys.
 */
const counts = new WeakMap<object, number>()

/** How many entries `section` holds. */
export function entryCount(section: object): number {
  let n = counts.get(section)
  if (n === undefined) {
    n = Array.isArray(section) ? section.length : Object.keys(section).length
    counts.set(section, n)
  }
  return n
}

/** Records that the new section `after` holds `count` entries. */
export function noteCount(after: object, count: number): void {
  counts.set(after, count)
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
 * Costs one copy of the section (as every change does today) and O(1) for the check.
 */
export function putEntry<T>(
  section: Readonly<Record<string, T>>,
  key: string,
  value: T,
  name: LimitedSection,
): { ok: true; section: Record<string, T> } | TooLarge {
  const count = entryCount(section) + (Object.hasOwn(section, key) ? 0 : 1)
  if (count > POLICY_LIMITS[name]) return tooLarge(name)
  const next = { ...section, [key]: value }
  noteCount(next, count)
  return { ok: true, section: next }
}

/** `section` without `key` (the same object when it has no such entry). */
export function dropEntry<T>(
  section: Readonly<Record<string, T>>,
  key: string,
): Readonly<Record<string, T>> {
  if (!Object.hasOwn(section, key)) return section
  const next = { ...section }
  delete next[key]
  noteCount(next, entryCount(section) - 1)
  return next
}

/** The first section of a whole document that is over its cap, as a refusal; O(document). */
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
