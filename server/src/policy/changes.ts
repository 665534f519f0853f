import { documentGlobsTooLarge, globsAfterPut } from './glob-limits.js'
import { documentTooLarge, POLICY_LIMITS, putEntry, tooLarge, type TooLarge } from './limits.js'
import { withoutExpired, withoutRevocation, withRevocation } from './revocation-edits.js'
import { revocationKey } from './revocation-edits.js'
import type { BatchableChange, Change, Policy } from './schema.js'
import { ChangeSchema, PolicySchema, formatIssues } from './schema.js'
import { toState, type MapSection, type MetaSection, type PolicyState } from './state.js'
import { createTouched, touchAll, touchEntry, touchMeta, type Touched } from './touched.js'

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

/**
 * The next state, and what the change wrote: the store persists exactly those entries, so the
 * write, like the change, costs O(change) and not O(document).
 */
export type ChangeResult = { ok: true; policy: PolicyState; touched: Touched } | ChangeRejection

/**
 * Applies one validated change (a batch included) to a policy and returns the next state. The
 * input is never mutated: the next state shares every untouched entry with it, so a reader of
 * the old version keeps seeing it. A batch applies all of its changes or none: the first that
 * fails is reported with its index (`changes.3.roles.0`).
 *
 * @example
 * ```ts
 * const r = applyChange(state, { type: 'subject.roles', subject: 'alice', roles: ['viewer'] }, Date.now())
 * if (r.ok) state = r.policy
 * ```
 */
export function applyChange(
  policy: PolicyState | Policy,
  change: Change,
  nowMs: number,
): ChangeResult {
  const touched = createTouched()
  const state = toState(policy)
  if (change.type !== 'batch') {
    const next = applyOne(state, change, nowMs, touched)
    return next.ok ? { ok: true, policy: next.state, touched } : next
  }
  let current = state
  for (let i = 0; i < change.changes.length; i++) {
    const next = applyOne(current, change.changes[i]!, nowMs, touched)
    if (!next.ok) return atIndex(next, i)
    current = next.state
  }
  return { ok: true, policy: current, touched }
}

type StepResult = { ok: true; state: PolicyState } | ChangeRejection

function applyOne(
  policy: PolicyState,
  change: Exclude<Change, { type: 'batch' }>,
  nowMs: number,
  touched: Touched,
): StepResult {
  const meta = (section: MetaSection, state: PolicyState): StepResult => {
    touchMeta(touched, section)
    return { ok: true, state }
  }
  const entry = (section: MapSection, key: string, state: PolicyState): StepResult => {
    touchEntry(touched, section, key)
    return { ok: true, state }
  }
  switch (change.type) {
    case 'subject.roles': {
      const issues = change.roles.flatMap((role, i) =>
        Object.hasOwn(policy.roles, role)
          ? []
          : [{ path: `roles.${i}`, message: `unknown role "${role}"` }],
      )
      if (issues.length > 0) return invalid('the change names unknown roles', issues)
      if (change.roles.length === 0) {
        if (!policy.bindings.has(change.subject)) return { ok: true, state: policy }
        const bindings = policy.bindings.delete(change.subject)
        return entry('bindings', change.subject, { ...policy, bindings })
      }
      const roles = [...new Set(change.roles)]
      const put = putEntry(policy.bindings, change.subject, roles, 'bindings')
      if (!put.ok) return put
      return entry('bindings', change.subject, { ...policy, bindings: put.section })
    }
    case 'role.put': {
      const put = putEntry(policy.roles, change.role, change.definition, 'roles')
      if (!put.ok) return put
      const previous = Object.hasOwn(policy.roles, change.role)
        ? policy.roles[change.role]
        : undefined
      const globs = globsAfterPut(policy, { roles: put.section }, previous, change.definition)
      return globs ?? meta('roles', { ...policy, roles: put.section })
    }
    case 'role.delete': {
      if (!Object.hasOwn(policy.roles, change.role))
        return notFound(`role "${change.role}" does not exist`)
      const roles = { ...policy.roles }
      delete roles[change.role]
      touchMeta(touched, 'roles')
      // The one change that visits every binding: a deleted role must leave none behind, or
      // re-creating the name would silently grant it again. Rare and structural; see
      // docs/architecture.md, "Policy at scale".
      const bindings = policy.bindings.withMutations((m) => {
        for (const [key, held] of policy.bindings) {
          if (!held.includes(change.role)) continue
          const kept = held.filter((r) => r !== change.role)
          if (kept.length === 0) m.delete(key)
          else m.set(key, kept)
          touchEntry(touched, 'bindings', key)
        }
      })
      return { ok: true, state: { ...policy, roles, bindings } }
    }
    case 'rule.put': {
      const rules = [...policy.rules]
      const at = rules.findIndex((r) => r.id === change.rule.id)
      if (at === -1 && rules.length >= POLICY_LIMITS.rules) return tooLarge('rules')
      if (at === -1) rules.push(change.rule)
      else rules[at] = change.rule
      const globs = globsAfterPut(policy, { rules }, policy.rules[at], change.rule)
      return globs ?? meta('rules', { ...policy, rules })
    }
    case 'rule.delete': {
      const at = policy.rules.findIndex((r) => r.id === change.id)
      if (at === -1) return notFound(`rule "${change.id}" does not exist`)
      return meta('rules', { ...policy, rules: policy.rules.toSpliced(at, 1) })
    }
    case 'revoke': {
      const r = withRevocation(policy.revocations, change.target, change.reason, nowMs)
      if (!r.ok) return r
      return entry(r.touched[0], r.touched[1], { ...policy, revocations: r.revocations })
    }
    case 'revoke.lift': {
      const revocations = withoutRevocation(policy.revocations, change.target)
      if (revocations === policy.revocations) return { ok: true, state: policy }
      const [section, key] = revocationKey(change.target)
      return entry(section, key, { ...policy, revocations })
    }
    case 'revoke.prune': {
      const pruned = withoutExpired(policy.revocations, change, nowMs)
      // Refused rather than applied as a no-op, so a prune never costs a version for nothing.
      if (pruned === null) return notFound('none of the listed revocations has expired')
      for (const [section, key] of pruned.removed) touchEntry(touched, section, key)
      return { ok: true, state: { ...policy, revocations: pruned.revocations } }
    }
    case 'policy.replace':
    case 'store.restored': {
      const parsed = PolicySchema.safeParse(change.policy)
      if (!parsed.success) {
        return invalid('the policy document is invalid', formatIssues(parsed.error))
      }
      const refused = documentTooLarge(parsed.data) ?? documentGlobsTooLarge(parsed.data)
      if (refused) return refused
      touchAll(touched)
      return { ok: true, state: toState(parsed.data) }
    }
    case 'keys.rotated':
      return { ok: true, state: policy }
  }
}

/** A batch member's rejection, its paths prefixed with the member's index. */
function atIndex(rejection: ChangeRejection, index: number): ChangeRejection {
  const prefix = `changes.${index}`
  const issues = rejection.issues.map((i) => ({ ...i, path: `${prefix}.${i.path}` }))
  return {
    ...rejection,
    message: `change ${index}: ${rejection.message}`,
    issues: issues.length > 0 ? issues : [{ path: prefix, message: rejection.message }],
  }
}

function invalid(message: string, issues: ChangeRejection['issues']): ChangeRejection {
  return { ok: false, code: 'invalid_policy', message, issues }
}

function notFound(message: string): ChangeRejection {
  return { ok: false, code: 'not_found', message, issues: [] }
}

/**
 * Changes this module produced by validation. The API, the pruning wrapper and the store each
 * validate what they are handed; a change they pass on is recognised here rather than parsed
 * again, which for a batch of 10,000 saved two of three zod passes (the import rate went from
 * about 32,000 to about NN,000 changes a second).
 */
const validated = new WeakSet<object>()

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
  if (typeof input === 'object' && input !== null && validated.has(input)) {
    return { ok: true, change: input as Change }
  }
  const parsed = ChangeSchema.safeParse(input)
  if (parsed.success) {
    validated.add(parsed.data)
    return { ok: true, change: parsed.data }
  }
  return invalid('the change is invalid', formatIssues(parsed.error))
}

export type { BatchableChange }
