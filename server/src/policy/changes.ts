import {
  documentTooLarge,
  dropEntry,
  POLICY_LIMITS,
  putEntry,
  tooLarge,
  type TooLarge,
} from './limits.js'
import { documentGlobsTooLarge, globsAfterPut } from './glob-limits.js'
import { withoutExpired, withoutRevocation, withRevocation } from './revocation-edits.js'
import type { Change, Policy } from './schema.js'
import { ChangeSchema, PolicySchema, formatIssues } from './schema.js'

/** Why a change could not be applied; the store and API turn it into a coded error. */
export type ChangeRejection =
  | {
      ok: false
      code: 'invalid_policy' | 'not_found'
      message: string
      issues: { path: string; message: string }[]
    }
  /** The change would grow a section beyond `POLICY_LIMITS` (HTTP 413). */
  | TooLarge

export type ChangeResult = { ok: true; policy: Policy } | ChangeRejection

/**
 * The sessions a change can affect. The realtime layer re-decides only these; `all` is reserved
 * for whole-document replacement (and rules whose subject pattern is a glob).
 */
export type Affected =
  | { all: true }
  | { all: false; principals: string[]; roles: string[]; sessions: string[]; jtis: string[] }

/**
 * Applies one validated change to a policy and returns the next document. Copy-on-write: the input
 * is not mutated, and sections the change does not touch keep their identity, so the compiler can
 * reuse what it built for them and a change costs O(touched section), not O(document).
 * A change that would grow a section beyond `POLICY_LIMITS` is refused (`policy_too_large`).
 *
 * @example
 * ```ts
 * const r = applyChange(policy, { type: 'subject.roles', subject: 'alice', roles: ['viewer'] }, Date.now())
 * if (r.ok) policy = r.policy
 * ```
 */
export function applyChange(policy: Policy, change: Change, nowMs: number): ChangeResult {
  switch (change.type) {
    case 'subject.roles': {
      const issues = change.roles.flatMap((role, i) =>
        Object.hasOwn(policy.roles, role)
          ? []
          : [{ path: `roles.${i}`, message: `unknown role "${role}"` }],
      )
      if (issues.length > 0) return invalid('the change names unknown roles', issues)
      if (change.roles.length === 0) {
        return {
          ok: true,
          policy: { ...policy, bindings: dropEntry(policy.bindings, change.subject) },
        }
      }
      const roles = [...new Set(change.roles)]
      const put = putEntry(policy.bindings, change.subject, roles, 'bindings')
      return put.ok ? { ok: true, policy: { ...policy, bindings: put.section } } : put
    }
    case 'role.put': {
      const put = putEntry(policy.roles, change.role, change.definition, 'roles')
      if (!put.ok) return put
      const previous = Object.hasOwn(policy.roles, change.role)
        ? policy.roles[change.role]
        : undefined
      const globs = globsAfterPut(policy, { roles: put.section }, previous, change.definition)
      return globs ?? { ok: true, policy: { ...policy, roles: put.section } }
    }
    case 'role.delete': {
      if (!Object.hasOwn(policy.roles, change.role))
        return notFound(`role "${change.role}" does not exist`)
      const roles = { ...policy.roles }
      delete roles[change.role]
      let bindings = policy.bindings
      for (const [key, held] of Object.entries(policy.bindings)) {
        if (!held.includes(change.role)) continue
        if (bindings === policy.bindings) bindings = { ...policy.bindings }
        const kept = held.filter((r) => r !== change.role)
        if (kept.length === 0) delete bindings[key]
        else bindings[key] = kept
      }
      return { ok: true, policy: { ...policy, roles, bindings } }
    }
    case 'rule.put': {
      const rules = [...policy.rules]
      const at = rules.findIndex((r) => r.id === change.rule.id)
      if (at === -1 && rules.length >= POLICY_LIMITS.rules) return tooLarge('rules')
      if (at === -1) rules.push(change.rule)
      else rules[at] = change.rule
      const globs = globsAfterPut(policy, { rules }, policy.rules[at], change.rule)
      return globs ?? { ok: true, policy: { ...policy, rules } }
    }
    case 'rule.delete': {
      const at = policy.rules.findIndex((r) => r.id === change.id)
      if (at === -1) return notFound(`rule "${change.id}" does not exist`)
      return { ok: true, policy: { ...policy, rules: policy.rules.toSpliced(at, 1) } }
    }
    case 'revoke': {
      const r = withRevocation(policy.revocations, change.target, change.reason, nowMs)
      return r.ok ? { ok: true, policy: { ...policy, revocations: r.revocations } } : r
    }
    case 'revoke.lift':
      return {
        ok: true,
        policy: { ...policy, revocations: withoutRevocation(policy.revocations, change.target) },
      }
    case 'revoke.prune': {
      const revocations = withoutExpired(policy.revocations, change, nowMs)
      // Refused rather than applied as a no-op, so a prune never costs a version for nothing.
      if (revocations === null) return notFound('none of the listed revocations has expired')
      return { ok: true, policy: { ...policy, revocations } }
    }
    case 'policy.replace':
    case 'store.restored': {
      const parsed = PolicySchema.safeParse(change.policy)
      if (!parsed.success) {
        return invalid('the policy document is invalid', formatIssues(parsed.error))
      }
      return (
        documentTooLarge(parsed.data) ??
        documentGlobsTooLarge(parsed.data) ?? { ok: true, policy: parsed.data }
      )
    }
    case 'keys.rotated':
      return { ok: true, policy }
  }
}

function invalid(message: string, issues: ChangeRejection['issues']): ChangeRejection {
  return { ok: false, code: 'invalid_policy', message, issues }
}

function notFound(message: string): ChangeRejection {
  return { ok: false, code: 'not_found', message, issues: [] }
}

/**
 * Which live sessions a change can affect, judged against the policy as it was before the change
 * (a rule that is replaced or deleted affects the holders of its old subjects too).
 */
export function affectedBy(change: Change, before: Policy): Affected {
  const out = { all: false as const, principals: [] as string[], roles: [] as string[] }
  const sessions: string[] = []
  const jtis: string[] = []
  const addSubjects = (patterns: string[]): boolean => {
    for (const p of patterns) {
      if (p.includes('*')) return false
      if (p.startsWith('role:')) out.roles.push(p.slice('role:'.length))
      else out.principals.push(p)
    }
    return true
  }
  switch (change.type) {
    case 'subject.roles':
      out.principals.push(change.subject)
      break
    case 'role.put':
    case 'role.delete':
      out.roles.push(change.role)
      break
    case 'rule.put': {
      const old = before.rules.find((r) => r.id === change.rule.id)
      if (!addSubjects(change.rule.subjects) || (old && !addSubjects(old.subjects))) {
        return { all: true }
      }
      break
    }
    case 'rule.delete': {
      const old = before.rules.find((r) => r.id === change.id)
      if (old && !addSubjects(old.subjects)) return { all: true }
      break
    }
    case 'revoke':
    case 'revoke.lift':
      if (change.target.kind === 'session') sessions.push(change.target.session)
      else if (change.target.kind === 'token') jtis.push(change.target.jti)
      else out.principals.push(change.target.subject)
      break
    case 'policy.replace':
    case 'store.restored':
      return { all: true }
    case 'revoke.prune': // only revocations no token can still use: nobody is affected
    case 'keys.rotated':
      break
  }
  return { ...out, sessions, jtis }
}

/**
 * Validates an untrusted change (API body, CLI file, another writer) against the schema.
 *
 * @example
 * ```ts
 * const parsed = parseChange(req.body)
 * if (!parsed.ok) return res.status(400).json({ error: { code: parsed.code, details: parsed.issues } })
 * ```
 */
export function parseChange(input: unknown): { ok: true; change: Change } | ChangeRejection {
  const parsed = ChangeSchema.safeParse(input)
  if (parsed.success) return { ok: true, change: parsed.data }
  return invalid('the change is invalid', formatIssues(parsed.error))
}
