/**
 * What a principal may do now, as the client SDK sees it: its roles, the permissions its roles and
 * allow rules give, and the patterns of the deny rules that apply to it. A client that answers
 * `can()` as "some allow matches and no deny matches" agrees with the server on every role and
 * rule grant.
 *
 * @module
 */

import type { Capabilities, Permission } from '@vigil-enforcer/client/protocol'
import type { PrincipalView } from './principal-view.js'
import type { CompiledRule, RuleBucket } from './rule-index.js'

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

/** Distinct role-and-rule combinations remembered per policy version before starting over. */
const MAX_SHARED = 10_000

/** A stable number per rule bucket, so that a combination of buckets can be a string key. */
const bucketIds = new WeakMap<RuleBucket, number>()
let nextBucketId = 0

/**
 * `capabilitiesFor`, shared between principals: everyone with the same roles and the same rule
 * buckets (and no rule whose `when` reads their claims) gets the very same frozen object. A role
 * change that reaches a thousand live sessions then computes their capabilities once, and the
 * session registry, which interns capabilities, compares them by identity. One cache per compiled
 * policy version, so nothing outlives the version it was derived from.
 *
 * @example
 * ```ts
 * const capabilities = createCapabilityCache()
 * capabilities(viewOfAlice) === capabilities(viewOfBob) // true when both are plain editors
 * ```
 */
export function createCapabilityCache(): (view: PrincipalView) => Capabilities {
  const shared = new Map<string, Capabilities>()
  return function capabilities(view) {
    if (view.revocation !== null) return NOTHING
    const key = combinationOf(view)
    if (key === null) return capabilitiesFor(view)
    let found = shared.get(key)
    if (found === undefined) {
      if (shared.size >= MAX_SHARED) shared.clear()
      found = deepFreeze(capabilitiesFor(view))
      shared.set(key, found)
    }
    return found
  }
}

const NOTHING: Capabilities = deepFreeze({ roles: [], allow: [], deny: [] })

/** What capabilities depend on, as a string; null when a conditional rule makes it per-claims. */
function combinationOf(view: PrincipalView): string | null {
  let key = view.roleNames.join('\u0000')
  for (const bucket of view.buckets) {
    for (const rule of bucket.rules) if (rule.when !== null) return null
    let id = bucketIds.get(bucket)
    if (id === undefined) bucketIds.set(bucket, (id = nextBucketId++))
    key += `\u0001${id}`
  }
  return key
}

function deepFreeze(c: Capabilities): Capabilities {
  for (const p of c.allow) Object.freeze(p)
  for (const p of c.deny) Object.freeze(p)
  Object.freeze(c.roles)
  Object.freeze(c.allow)
  Object.freeze(c.deny)
  return Object.freeze(c)
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
