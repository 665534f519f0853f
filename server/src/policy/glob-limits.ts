/**
 * The document-wide cap on `*` globs (`GLOB_LIMITS.perDocument`). Roles and rules are capped one
 * by one in the schema; this adds them up, so no principal bound to many roles can make one
 * decision try an unbounded number of globs. Sections are copy-on-write, so each change derives
 * the new section's count from its predecessor's in O(1); only a section that arrived some other
 * way (a load, a replace, a delete) is counted once, entry by entry, each entry's count cached.
 *
 * @module
 */

import type { TooLarge } from './limits.js'
import { GLOB_LIMITS, roleGlobCount, ruleGlobCount } from './schema.js'
import type { Policy, Role, Rule } from './schema.js'

const entryCounts = new WeakMap<Role | Rule, number>()
const sectionCounts = new WeakMap<object, number>()

function roleGlobs(role: Role): number {
  let n = entryCounts.get(role)
  if (n === undefined) entryCounts.set(role, (n = roleGlobCount(role)))
  return n
}

function ruleGlobs(rule: Rule): number {
  let n = entryCounts.get(rule)
  if (n === undefined) entryCounts.set(rule, (n = ruleGlobCount(rule)))
  return n
}

function rolesGlobs(roles: Policy['roles']): number {
  let n = sectionCounts.get(roles)
  if (n === undefined) {
    n = 0
    for (const role of Object.values(roles)) n += roleGlobs(role)
    sectionCounts.set(roles, n)
  }
  return n
}

function rulesGlobs(rules: Policy['rules']): number {
  let n = sectionCounts.get(rules)
  if (n === undefined) {
    n = 0
    for (const rule of rules) n += ruleGlobs(rule)
    sectionCounts.set(rules, n)
  }
  return n
}

function tooManyGlobs(total: number): TooLarge {
  const limit = GLOB_LIMITS.perDocument.toLocaleString('en-US')
  return {
    ok: false,
    code: 'policy_too_large',
    message: `the policy document holds at most ${limit} patterns with a * (this one: ${total})`,
    issues: [{ path: '(root)', message: `at most ${limit} patterns with a *` }],
  }
}

/**
 * The refusal when a whole document holds more globs than `GLOB_LIMITS.perDocument`, else null.
 *
 * @example
 * ```ts
 * const refused = documentGlobsTooLarge(parsed.data)
 * if (refused) return refused
 * ```
 */
export function documentGlobsTooLarge(policy: Policy): TooLarge | null {
  const total = rolesGlobs(policy.roles) + rulesGlobs(policy.rules)
  return total > GLOB_LIMITS.perDocument ? tooManyGlobs(total) : null
}

/**
 * Checks putting `next` in place of `previous` (absent for a new entry) into `section`, which
 * yields `after`: the refusal when the document would then hold too many globs, else null (and
 * `after`'s count is noted for the next change).
 *
 * @example
 * ```ts
 * const refused = globsAfterPut(policy, { roles: next }, policy.roles[name], definition)
 * ```
 */
export function globsAfterPut(
  policy: Pick<Policy, 'roles' | 'rules'>,
  after: { roles: Policy['roles'] } | { rules: Policy['rules'] },
  previous: Role | Rule | undefined,
  next: Role | Rule,
): TooLarge | null {
  let total: number
  let section: number
  if ('roles' in after) {
    const minus = previous === undefined ? 0 : roleGlobs(previous as Role)
    section = rolesGlobs(policy.roles) - minus + roleGlobs(next as Role)
    total = section + rulesGlobs(policy.rules)
    if (total <= GLOB_LIMITS.perDocument) sectionCounts.set(after.roles, section)
  } else {
    const minus = previous === undefined ? 0 : ruleGlobs(previous as Rule)
    section = rulesGlobs(policy.rules) - minus + ruleGlobs(next as Rule)
    total = section + rolesGlobs(policy.roles)
    if (total <= GLOB_LIMITS.perDocument) sectionCounts.set(after.rules, section)
  }
  return total > GLOB_LIMITS.perDocument ? tooManyGlobs(total) : null
}
