/**
 * Roles compiled for the decision path: each role's permissions indexed by exact action, so a
 * role with a thousand permissions answers one action with one `Map` lookup.
 *
 * @module
 */

import { compileAnyPattern, compilePattern, isGlob } from './pattern.js'
import type { Matcher } from './pattern.js'
import type { Policy, Role } from './schema.js'

type Permission = Role['permissions'][number]

/** One role, ready to answer "does it grant this action on this resource?". */
export interface CompiledRole {
  readonly name: string
  /** The `rule` a decision reports when this role grants: `role:<name>`. */
  readonly ruleId: string
  /** The source permissions, for capabilities and for reuse across recompiles. */
  readonly permissions: readonly Permission[]
  /** Exact action → matcher over the resources the role grants for it. */
  readonly byAction: ReadonlyMap<string, Matcher>
  /** Permissions whose action is a glob; tried after the exact lookup. */
  readonly globActions: readonly { action: Matcher; resource: Matcher }[]
}

/** Role name → compiled role. */
export type RoleIndex = ReadonlyMap<string, CompiledRole>

/**
 * Compiles one role.
 *
 * @example
 * ```ts
 * const role = compileRole('viewer', { permissions: [{ action: 'doc:read', resource: 'doc/*' }] })
 * roleGrants(role, 'doc:read', 'doc/42') // true
 * ```
 */
export function compileRole(name: string, role: Role): CompiledRole {
  const exact = new Map<string, string[]>()
  const globs = new Map<string, string[]>()
  for (const { action, resource } of role.permissions) {
    const bucket = isGlob(action) ? globs : exact
    const resources = bucket.get(action)
    if (resources) resources.push(resource)
    else bucket.set(action, [resource])
  }
  const byAction = new Map<string, Matcher>()
  for (const [action, resources] of exact) byAction.set(action, compileAnyPattern(resources))
  const globActions = [...globs].map(([action, resources]) => ({
    action: compilePattern(action),
    resource: compileAnyPattern(resources),
  }))
  return { name, ruleId: `role:${name}`, permissions: role.permissions, byAction, globActions }
}

/**
 * True when the role grants `action` on `resource`.
 *
 * @example
 * ```ts
 * if (roleGrants(role, 'doc:write', 'doc/42')) allow()
 * ```
 */
export function roleGrants(role: CompiledRole, action: string, resource: string): boolean {
  const resources = role.byAction.get(action)
  if (resources !== undefined && resources(resource)) return true
  for (const glob of role.globActions) {
    if (glob.action(action) && glob.resource(resource)) return true
  }
  return false
}

/**
 * Compiles every role of a policy. With `previous`, a role whose permissions are unchanged keeps
 * its compiled form; when none changed, the previous index itself is returned. Equality is by
 * content, not identity: `applyChange` deep-clones the document, so identity alone never hits.
 *
 * @example
 * ```ts
 * const roles = compileRoles(next.roles, current.roles)
 * ```
 */
export function compileRoles(roles: Policy['roles'], previous?: RoleIndex): RoleIndex {
  const index = new Map<string, CompiledRole>()
  let reused = 0
  for (const [name, role] of Object.entries(roles)) {
    const old = previous?.get(name)
    if (old !== undefined && samePermissions(old.permissions, role.permissions)) {
      index.set(name, old)
      reused++
    } else {
      index.set(name, compileRole(name, role))
    }
  }
  if (previous !== undefined && reused === index.size && reused === previous.size) return previous
  return index
}

function samePermissions(a: readonly Permission[], b: readonly Permission[]): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.action !== b[i]!.action || a[i]!.resource !== b[i]!.resource) return false
  }
  return true
}
