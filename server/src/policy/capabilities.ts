/**
 * What a principal may do now, as the client SDK sees it: its roles, the permissions its roles and
 * allow rules give, and the patterns of the deny rules that apply to it. A client that answers
 * `can()` as "some allow matches and no deny matches" agrees with the server on every role and
 * rule grant.
 *
 * @module
 */

import type { Capabilities, Permission } from '@vigil/client/protocol'
import type { PrincipalView } from './principal-view.js'
import type { CompiledRule } from './rule-index.js'

/**
 * The capabilities of the principal behind `view`. A revoked principal has none: it may not do
 * anything, so advertising its roles would only mislead the client.
 *
 * @example
 * ```ts
 * capabilitiesFor(view)
 * // { roles: ['viewer'], allow: [{ action: 'doc:read', resource: 'doc/*' }], deny: [] }
 * ```
 */
export function capabilitiesFor(view: PrincipalView): Capabilities {
  if (view.revocation !== null) return { roles: [], allow: [], deny: [] }
  const allow = new PermissionList()
  for (const role of view.roles) {
    for (const permission of role.permissions) allow.add(permission.action, permission.resource)
  }
  const deny = new PermissionList()
  for (const rule of applicableRules(view)) {
    const into = rule.effect === 'allow' ? allow : deny
    for (const action of rule.source.actions) {
      for (const resource of rule.source.resources) into.add(action, resource)
    }
  }
  return { roles: [...view.roleNames], allow: allow.items, deny: deny.items }
}

/** The rules that name the principal and whose `when` holds, once each, in document order. */
function applicableRules(view: PrincipalView): CompiledRule[] {
  const seen = new Set<CompiledRule>()
  for (const bucket of view.buckets) {
    for (const rule of bucket.rules) {
      if (rule.when === null || rule.when(view.claims)) seen.add(rule)
    }
  }
  return [...seen].sort((a, b) => a.order - b.order)
}

/** Permissions in first-seen order without duplicates. */
class PermissionList {
  readonly items: Permission[] = []
  readonly #seen = new Set<string>()

  add(action: string, resource: string): void {
    // Patterns never contain whitespace (schema), so a space cannot collide inside the key.
    const key = `${action} ${resource}`
    if (this.#seen.has(key)) return
    this.#seen.add(key)
    this.items.push({ action, resource })
  }
}
