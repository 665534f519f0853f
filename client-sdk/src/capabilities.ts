/**
 * `can()` from the capabilities the enforcer last pushed, and which guarded requests a
 * step-down takes the ground from under.
 *
 * @module
 * @internal
 */
import { compilePattern, matchPattern, type Matcher } from './pattern.js'
import type { Capabilities, Permission } from './protocol.js'

/** `(action, resource) => allowed`, decided the way the enforcer decides role and rule grants. */
export type CapabilityCheck = (action: string, resource: string) => boolean

/**
 * What a guarded request needs: an action (`'doc:write'`), or an action on one resource
 * (`{ action: 'doc:write', resource: 'doc/42' }`) for precise aborts on a step-down.
 */
export type RequiredPermission = string | Permission

const denyAll: CapabilityCheck = () => false

/**
 * Compiles capabilities into a check: allowed iff some `allow` permission matches and no `deny`
 * matches. Without capabilities (none pushed yet, or torn down) everything is denied, as the
 * enforcer's default is.
 *
 * @example
 * ```ts
 * const can = compileCapabilities({ roles: ['editor'], allow: [{ action: 'doc:*', resource: 'doc/*' }], deny: [] })
 * can('doc:write', 'doc/42') // true
 * ```
 */
export function compileCapabilities(capabilities: Capabilities | null): CapabilityCheck {
  if (!capabilities) return denyAll
  const allow = capabilities.allow.map(compilePermission)
  const deny = capabilities.deny.map(compilePermission)
  return function can(action, resource) {
    const matches = ([a, r]: [Matcher, Matcher]): boolean => a(action) && r(resource)
    return allow.some(matches) && !deny.some(matches)
  }
}

function compilePermission(p: Permission): [Matcher, Matcher] {
  return [compilePattern(p.action), compilePattern(p.resource)]
}

/**
 * True when a request that needs `required` may go on after a step-down. With a resource the
 * answer is exact (`can()` under the new capabilities); with an action alone the request stops
 * when any removed permission covers that action, whatever its resource.
 *
 * @example
 * ```ts
 * survivesStepDown('doc:write', [{ action: 'doc:write', resource: 'doc/*' }], can) // false
 * ```
 */
export function survivesStepDown(
  required: RequiredPermission,
  removed: readonly Permission[],
  can: CapabilityCheck,
): boolean {
  if (typeof required === 'string') return !removed.some((p) => matchPattern(p.action, required))
  return can(required.action, required.resource)
}

/** Validates a `permission` option; misuse by the programmer is a `TypeError`. */
export function checkRequiredPermission(value: unknown): RequiredPermission | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'string' && value !== '') return value
  const p = value as Partial<Permission> | null
  if (p && typeof p.action === 'string' && p.action && typeof p.resource === 'string') {
    return { action: p.action, resource: p.resource }
  }
  throw new TypeError(
    "vigil.fetch: permission must be an action ('doc:write') or { action, resource }",
  )
}
