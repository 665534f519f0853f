/**
 * The decision algorithm on the compiled form: revocations, then deny rules, then role grants,
 * then allow rules, else deny. Every step touches only the principal's own roles and rule
 * buckets, so a decision costs a handful of `Map` lookups whatever the size of the policy.
 *
 * @module
 */

import type { PrincipalView } from './principal-view.js'
import type { RevocationReason } from './revocation.js'
import { ruleApplies } from './rule-index.js'
import type { ActionIndex, CompiledRule } from './rule-index.js'
import { roleGrants } from './role-index.js'

/** Why a decision came out as it did; stable, logged and put on the wire. */
export type DecisionReason =
  | 'allowed_by_role'
  | 'allowed_by_rule'
  | 'denied_by_rule'
  | 'no_matching_permission'
  | RevocationReason

/**
 * The answer to one request. `rule` is `role:<name>` for a role grant, the rule id for a rule
 * decision, and absent for revocations and the default deny.
 */
export interface Decision {
  allow: boolean
  reason: DecisionReason
  rule?: string
  version: number
}

/**
 * Decides `action` on `resource` for the principal behind `view`. Non-string input is denied
 * rather than thrown on: it can come straight from a request.
 *
 * @example
 * ```ts
 * const decision = decideFor(view, 'doc:read', 'doc/42', 7)
 * // { allow: true, reason: 'allowed_by_role', rule: 'role:viewer', version: 7 }
 * ```
 */
export function decideFor(
  view: PrincipalView,
  action: string,
  resource: string,
  version: number,
): Decision {
  if (view.revocation !== null) return { allow: false, reason: view.revocation.reason, version }
  if (typeof action !== 'string' || typeof resource !== 'string') {
    return { allow: false, reason: 'no_matching_permission', version }
  }
  const deny = earliestRule(view.denies, action, resource, view.claims)
  if (deny !== undefined) return { allow: false, reason: 'denied_by_rule', rule: deny.id, version }
  for (const role of view.roles) {
    if (roleGrants(role, action, resource)) {
      return { allow: true, reason: 'allowed_by_role', rule: role.ruleId, version }
    }
  }
  const allow = earliestRule(view.allows, action, resource, view.claims)
  if (allow !== undefined)
    return { allow: true, reason: 'allowed_by_rule', rule: allow.id, version }
  return { allow: false, reason: 'no_matching_permission', version }
}

/**
 * The matching rule that comes first in the document. Reporting the earliest rather than the
 * first one found keeps the reported rule independent of how the index happens to be laid out.
 */
function earliestRule(
  indexes: readonly ActionIndex[],
  action: string,
  resource: string,
  claims: Readonly<Record<string, unknown>>,
): CompiledRule | undefined {
  let best: CompiledRule | undefined
  for (const index of indexes) {
    const exact = index.byAction.get(action)
    if (exact !== undefined) {
      for (const rule of exact) {
        if (
          (best === undefined || rule.order < best.order) &&
          ruleApplies(rule, resource, claims)
        ) {
          best = rule
        }
      }
    }
    for (const { action: matches, rule } of index.globActions) {
      if (
        (best === undefined || rule.order < best.order) &&
        matches(action) &&
        ruleApplies(rule, resource, claims)
      ) {
        best = rule
      }
    }
  }
  return best
}
