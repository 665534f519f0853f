/**
 * Which live sessions a change can affect. The realtime layer re-decides only these; `all` is
 * reserved for whole-document replacement (and rules whose subject pattern is a glob).
 *
 * @module
 */

import type { Change } from './schema.js'
import type { PolicyState } from './state.js'

export type Affected =
  | { all: true }
  | { all: false; principals: string[]; roles: string[]; sessions: string[]; jtis: string[] }

/**
 * Which live sessions a change can affect, judged against the policy as it was before the change
 * (a rule that is replaced or deleted affects the holders of its old subjects too). A batch
 * affects the union of its members, so each session is re-decided once for the whole batch.
 *
 * @example
 * ```ts
 * const affected = affectedBy(change, before.policy)
 * if (!affected.all) for (const sid of affected.sessions) recheck(sid)
 * ```
 */
export function affectedBy(change: Change, before: Pick<PolicyState, 'rules'>): Affected {
  const out = { all: false as const, principals: [], roles: [], sessions: [], jtis: [] }
  const found: Exclude<Affected, { all: true }> = out
  const members = change.type === 'batch' ? change.changes : [change]
  for (const member of members) if (!collect(member, before, found)) return { all: true }
  return found
}

/** Adds what `change` affects to `out`; false when that is everyone. */
function collect(
  change: Change,
  before: Pick<PolicyState, 'rules'>,
  out: Exclude<Affected, { all: true }>,
): boolean {
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
      return true
    case 'role.put':
    case 'role.delete':
      out.roles.push(change.role)
      return true
    case 'rule.put': {
      const old = before.rules.find((r) => r.id === change.rule.id)
      return addSubjects(change.rule.subjects) && (!old || addSubjects(old.subjects))
    }
    case 'rule.delete': {
      const old = before.rules.find((r) => r.id === change.id)
      return !old || addSubjects(old.subjects)
    }
    case 'revoke':
    case 'revoke.lift':
      if (change.target.kind === 'session') out.sessions.push(change.target.session)
      else if (change.target.kind === 'token') out.jtis.push(change.target.jti)
      else out.principals.push(change.target.subject)
      return true
    case 'policy.replace':
    case 'store.restored':
    case 'batch':
      return false
    case 'revoke.prune': // only revocations no token can still use: nobody is affected
    case 'keys.rotated':
      return true
  }
}
