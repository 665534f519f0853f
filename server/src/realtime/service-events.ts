import type { ServiceRevokedEvent, ServiceStepEvent } from '@vigil-enforcer/client/protocol'
import type { PolicyUpdate } from '../live-policy.js'
import type { Change } from '../policy/schema.js'
import { diffCapabilities } from '../sessions/capability-diff.js'

/** What a backend service watches: subjects, sessions, or everything. */
export interface Subscription {
  subjects: Set<string>
  sessions: Set<string>
  all: boolean
  /**
   * The service already has every change up to this version (its `since`, when it is ahead of
   * this node): a node catching up must not send those again.
   */
  after?: number
}

export type ServiceEvent =
  | { kind: 'revoked'; event: ServiceRevokedEvent }
  | { kind: 'step-down' | 'step-up'; event: ServiceStepEvent }

/**
 * The feed events one update means for one subscription. Computed from the update's before and
 * after policies, so a replay after a reconnect yields exactly what the live feed would have.
 */
export function serviceEventsFor(update: PolicyUpdate, sub: Subscription): ServiceEvent[] {
  const { before, after, at, entry } = update
  const version = after.version
  const out: ServiceEvent[] = []
  const change = entry?.change

  if (change?.type === 'revoke') return revocationEvents(change, version, at, sub)

  for (const subject of candidates(update, sub)) {
    const p = { sub: subject, claims: {} }
    const { removed, added } = diffCapabilities(before.capabilities(p), after.capabilities(p))
    const roles = after.rolesOf(p)
    if (removed.length > 0) {
      out.push({ kind: 'step-down', event: { version, at, subject, roles, removed } })
    } else if (added.length > 0) {
      out.push({ kind: 'step-up', event: { version, at, subject, roles, added } })
    }
  }
  return out
}

/**
 * The feed events of one revocation change: everything a service needs is in the change itself,
 * so a replay straight from the store's change log is exact.
 */
export function revocationEvents(
  change: Extract<Change, { type: 'revoke' }>,
  version: number,
  at: number,
  sub: Subscription,
): ServiceEvent[] {
  const t = change.target
  const base = { version, at, reason: change.reason ?? 'revoked' }
  if (t.kind === 'session' && (sub.all || sub.sessions.has(t.session))) {
    return [{ kind: 'revoked', event: { ...base, session: t.session } }]
  }
  if (t.kind === 'token' && sub.all) return [{ kind: 'revoked', event: { ...base, jti: t.jti } }]
  if (t.kind === 'subject' && (sub.all || sub.subjects.has(t.subject))) {
    return [{ kind: 'revoked', event: { ...base, subject: t.subject } }]
  }
  if (t.kind === 'issued_before' && (sub.all || sub.subjects.has(t.subject))) {
    return [{ kind: 'revoked', event: { ...base, subject: t.subject, issued_before: t.before } }]
  }
  return []
}

/** Subjects whose permissions this update may have changed, narrowed to the subscription. */
function candidates(update: PolicyUpdate, sub: Subscription): Iterable<string> {
  const { affected, before, after } = update
  if (affected.all) {
    if (!sub.all) return sub.subjects
    return new Set([...before.policy.bindings.keys(), ...after.policy.bindings.keys()])
  }
  const found = new Set<string>()
  const consider = (s: string): void => {
    if (sub.all || sub.subjects.has(s)) found.add(s)
  }
  for (const key of affected.principals) consider(key)
  if (affected.roles.length > 0) {
    const roles = new Set(affected.roles)
    // A role's holders, before or after: a scan of bindings, only for role and rule changes.
    for (const bindings of [before.policy.bindings, after.policy.bindings]) {
      for (const [key, held] of bindings) {
        if (held.some((r) => roles.has(r))) consider(key)
      }
    }
  }
  return found
}
