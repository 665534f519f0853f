/**
 * Everything one compiled policy derives from one principal before it can decide: its keys, its
 * roles, the rule buckets that name it, and whether it is revoked. Derived once per principal
 * and policy version, then reused for every request the token makes.
 *
 * @module
 */

import { claimKeys } from './claims.js'
import { ISSUER_SEPARATOR } from './principal.js'
import type { Principal } from './principal.js'
import { revocationOf } from './revocation.js'
import type { RevocationHit } from './revocation.js'
import type { CompiledRole, RoleIndex } from './role-index.js'
import type { ActionIndex, RuleBucket, RuleIndex } from './rule-index.js'
import type { Policy } from './schema.js'
import type { PolicyState } from './state.js'

type Claims = Readonly<Record<string, unknown>>

/** What the decision path needs to know about one principal under one policy version. */
export interface PrincipalView {
  /** The subject, then its claim-derived group keys, without duplicates. */
  readonly keys: readonly string[]
  /** Role names from the bindings of every key, sorted, unique, only roles that exist. */
  readonly roleNames: readonly string[]
  /** The compiled roles, in the order of `roleNames`. */
  readonly roles: readonly CompiledRole[]
  /** Every rule bucket whose subject names one of the keys, a role key or `*`. */
  readonly buckets: readonly RuleBucket[]
  readonly denies: readonly ActionIndex[]
  readonly allows: readonly ActionIndex[]
  readonly claims: Claims
  readonly revocation: RevocationHit | null
}

/** The compiled parts of a policy a view is derived from. */
export interface ViewSource {
  readonly policy: PolicyState
  readonly roles: RoleIndex
  readonly rules: RuleIndex
}

const NO_CLAIMS: Claims = Object.freeze({})

/**
 * Derives the view of `p`. Input that is not a well-formed principal (no `sub`, claims that are
 * not an object) gives a view with fewer keys, never an exception: a malformed principal must
 * end in a denial, not in a 500.
 *
 * @example
 * ```ts
 * const view = derivePrincipalView(principal, { policy, roles, rules })
 * view.roleNames // ['editor', 'viewer']
 * ```
 */
export function derivePrincipalView(p: Principal, source: ViewSource): PrincipalView {
  const { policy, roles: roleIndex, rules } = source
  const claims = p.claims !== null && typeof p.claims === 'object' ? p.claims : NO_CLAIMS
  const keys = new Set<string>()
  if (isSubjectKey(localSubject(p), policy)) keys.add(p.sub)
  // An external issuer's groups are its own (`https://idp.example|group:admins`) unless it was
  // configured to share the local ones: no IdP can claim its way into a local group's roles.
  const scope = typeof p.groupScope === 'string' ? p.groupScope : ''
  for (const key of claimKeys(claims, policy.groupClaims)) keys.add(scope + key)

  const roleNames = new Set<string>()
  for (const key of keys) {
    const bound = policy.bindings.get(key)
    if (bound === undefined) continue
    // A binding to a role that no longer exists grants nothing and is not advertised.
    for (const name of bound) if (roleIndex.has(name)) roleNames.add(name)
  }
  const sortedRoles = [...roleNames].sort()
  const roles = sortedRoles.map((name) => roleIndex.get(name)!)

  const buckets: RuleBucket[] = []
  const subjectKeys = [...keys, ...sortedRoles.map((name) => `role:${name}`)]
  for (const key of subjectKeys) {
    const bucket = rules.bySubject.get(key)
    if (bucket !== undefined) buckets.push(bucket)
  }
  if (rules.everyone !== null) buckets.push(rules.everyone)
  for (const { subject, bucket } of rules.globSubjects) {
    if (subjectKeys.some(subject)) buckets.push(bucket)
  }

  const denies: ActionIndex[] = []
  const allows: ActionIndex[] = []
  for (const bucket of buckets) {
    if (bucket.deny !== null) denies.push(bucket.deny)
    if (bucket.allow !== null) allows.push(bucket.allow)
  }
  return {
    keys: [...keys],
    roleNames: sortedRoles,
    roles,
    buckets,
    denies,
    allows,
    claims,
    revocation: revocationOf(policy.revocations, p),
  }
}

/** The subject as its issuer named it: `dave` for `https://idp.example|dave`. */
function localSubject(p: Principal): unknown {
  const prefix = typeof p.issuer === 'string' ? p.issuer + ISSUER_SEPARATOR : undefined
  return prefix !== undefined && typeof p.sub === 'string' && p.sub.startsWith(prefix)
    ? p.sub.slice(prefix.length)
    : p.sub
}

/**
 * Whether `sub` may stand as a principal key. Subjects share the binding namespace with
 * claim-derived groups (`group:eng`, `tenant:acme`) and roles (`role:editor`), so a token whose
 * subject is `group:admins` — which a trusted external issuer could mint — must not inherit that
 * group's roles: such a subject is no key at all (its own claims still give it its groups, and a
 * revocation of the subject still applies). `*` is reserved for rules that name everyone.
 */
export function isSubjectKey(sub: unknown, policy: Pick<Policy, 'groupClaims'>): sub is string {
  if (typeof sub !== 'string' || sub === '' || sub === '*') return false
  const colon = sub.indexOf(':')
  if (colon <= 0) return true
  const prefix = sub.slice(0, colon)
  return prefix !== 'role' && !Object.values(policy.groupClaims).includes(prefix)
}
