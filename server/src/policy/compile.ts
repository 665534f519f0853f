/**
 * A policy document compiled into the form requests are decided against: roles and rules
 * indexed, per-principal derivations cached. One `CompiledPolicy` per policy version; a new
 * version is a new object, so nothing cached for the old one can leak into the new one.
 *
 * @module
 */

import type { Capabilities } from '@vigil-enforcer/client/protocol'
import { createCapabilityCache } from './capabilities.js'
import { decideFor } from './decide.js'
import type { Decision, DecisionReason } from './decide.js'
import type { Principal } from './principal.js'
import { derivePrincipalView } from './principal-view.js'
import type { PrincipalView } from './principal-view.js'
import type { RevocationHit } from './revocation.js'
import { compileRoles } from './role-index.js'
import type { RoleIndex } from './role-index.js'
import { buildRuleIndex } from './rule-index.js'
import type { RuleIndex } from './rule-index.js'
import type { Policy } from './schema.js'
import { toState, type PolicyState } from './state.js'

/** A policy version, ready to decide. Every method answers bad input with a denial, never a throw. */
export interface CompiledPolicy {
  readonly version: number
  /** The state it was compiled from (persistent maps; `toPolicy` gives the JSON document). */
  readonly policy: PolicyState
  /** Decides `action` on `resource` for `p`: revocations, deny rules, role grants, allow rules. */
  decide(p: Principal, action: string, resource: string): Decision
  /** The revocation that applies to this principal now, or null; checked first by `decide()`. */
  revocation(p: Principal): { reason: DecisionReason; detail: string } | null
  /** Roles, allowed permissions (roles and allow rules) and deny patterns of `p`. */
  capabilities(p: Principal): Capabilities
  /** Roles bound to the subject or to its claim-derived groups, sorted, unique. */
  rolesOf(p: Principal): string[]
  /** The principal's keys: its subject, then its claim-derived group keys. */
  keysOf(p: Principal): string[]
}

/** The view given to anything that is not an object: no keys, so nothing but a default deny. */
const NOBODY: PrincipalView = Object.freeze({
  keys: [],
  roleNames: [],
  roles: [],
  buckets: [],
  denies: [],
  allows: [],
  claims: Object.freeze({}),
  revocation: null,
})

class Compiled implements CompiledPolicy {
  readonly version: number
  readonly policy: PolicyState
  readonly roles: RoleIndex
  readonly rules: RuleIndex
  /**
   * Keyed by the principal object, which the token layer reuses for every request of one token;
   * entries die with the principal or with this policy version, whichever goes first.
   */
  readonly #views = new WeakMap<Principal, PrincipalView>()
  readonly #capabilities = createCapabilityCache()

  constructor(policy: PolicyState, version: number, roles: RoleIndex, rules: RuleIndex) {
    this.policy = policy
    this.version = version
    this.roles = roles
    this.rules = rules
  }

  decide(p: Principal, action: string, resource: string): Decision {
    return decideFor(this.#view(p), action, resource, this.version)
  }

  revocation(p: Principal): RevocationHit | null {
    const hit = this.#view(p).revocation
    return hit === null ? null : { ...hit }
  }

  capabilities(p: Principal): Capabilities {
    return this.#capabilities(this.#view(p))
  }

  rolesOf(p: Principal): string[] {
    return [...this.#view(p).roleNames]
  }

  keysOf(p: Principal): string[] {
    return [...this.#view(p).keys]
  }

  #view(p: Principal): PrincipalView {
    if (typeof p !== 'object' || p === null) return NOBODY
    let view = this.#views.get(p)
    if (view === undefined) {
      view = derivePrincipalView(p, this)
      this.#views.set(p, view)
    }
    return view
  }
}

/**
 * Compiles a policy document. Pass the compiled previous version as `previous` to reuse every
 * role and rule whose content did not change: after a revocation or a binding change nothing is
 * recompiled at all, since bindings and revocations are read from the document in place.
 *
 * @example
 * ```ts
 * let current = compilePolicy(policy, 1)
 * const r = applyChange(current.policy, { type: 'revoke', target: { kind: 'subject', subject: 'mallory' } }, Date.now())
 * if (r.ok) current = compilePolicy(r.policy, 2, current)
 * current.decide(principal, 'doc:read', 'doc/42').reason // 'subject_revoked' for mallory
 * ```
 */
export function compilePolicy(
  document: PolicyState | Policy,
  version: number,
  previous?: CompiledPolicy,
): CompiledPolicy {
  const policy = toState(document)
  const prior = previous instanceof Compiled ? previous : undefined
  const roles =
    prior !== undefined && prior.policy.roles === policy.roles
      ? prior.roles
      : compileRoles(policy.roles, prior?.roles)
  const rules =
    prior !== undefined && prior.policy.rules === policy.rules
      ? prior.rules
      : buildRuleIndex(policy.rules, prior?.rules)
  return new Compiled(policy, version, roles, rules)
}
