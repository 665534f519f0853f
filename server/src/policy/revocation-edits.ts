/**
 * How `revoke`, `revoke.lift` and `revoke.prune` edit the revocation sections. Each costs
 * O(log n) per entry it touches in one persistent section: no change ever copies or scans one.
 *
 * @module
 */

import { putEntry, type TooLarge } from './limits.js'
import type { RevokeTarget } from './schema.js'
import type { MapSection, RevocationState, Section } from './state.js'

/** The next revocations, and the one entry the change wrote (for the store's patch). */
export type RevocationsResult =
  { ok: true; revocations: RevocationState; touched: [MapSection, string] } | TooLarge

/** A revocation that may be pruned once `until` (epoch seconds) has passed. */
interface Expiring {
  reason: string
  at: number
  until?: number
}

/**
 * The entry a repeated revocation leaves: the newer reason, and the later of the two `until`s —
 * none when either has none. Shortening a revocation would silently un-revoke its tokens early.
 */
function lasting(previous: Expiring | undefined, next: Expiring): Expiring {
  if (previous === undefined) return next
  const until =
    previous.until === undefined || next.until === undefined
      ? undefined
      : Math.max(previous.until, next.until)
  return until === undefined ? { reason: next.reason, at: next.at } : { ...next, until }
}

function expiring(reason: string, at: number, until: number | undefined): Expiring {
  return until === undefined ? { reason, at } : { reason, at, until }
}

/** `r` with `target` revoked, or `policy_too_large` when its section is full. */
export function withRevocation(
  r: RevocationState,
  target: RevokeTarget,
  reason = 'revoked',
  at: number,
): RevocationsResult {
  switch (target.kind) {
    case 'subject': {
      const put = putEntry(r.subjects, target.subject, { reason, at }, 'revocations.subjects')
      return put.ok ? done({ ...r, subjects: put.section }, 'subjects', target.subject) : put
    }
    case 'session': {
      const entry = lasting(r.sessions.get(target.session), expiring(reason, at, target.until))
      const put = putEntry(r.sessions, target.session, entry, 'revocations.sessions')
      return put.ok ? done({ ...r, sessions: put.section }, 'sessions', target.session) : put
    }
    case 'token': {
      const entry = lasting(r.tokens.get(target.jti), expiring(reason, at, target.until))
      const put = putEntry(r.tokens, target.jti, entry, 'revocations.tokens')
      return put.ok ? done({ ...r, tokens: put.section }, 'tokens', target.jti) : put
    }
    case 'issued_before': {
      // Moving the boundary backwards would silently un-revoke tokens; keep the later one.
      const before = Math.max(target.before, r.issuedBefore.get(target.subject)?.before ?? 0)
      const entry = { reason, at, before }
      const put = putEntry(r.issuedBefore, target.subject, entry, 'revocations.issuedBefore')
      return put.ok
        ? done({ ...r, issuedBefore: put.section }, 'issuedBefore', target.subject)
        : put
    }
  }
}

function done(revocations: RevocationState, section: MapSection, key: string): RevocationsResult {
  return { ok: true, revocations, touched: [section, key] }
}

/** Where `target` lives: its section and key. */
export function revocationKey(target: RevokeTarget): [Exclude<MapSection, 'bindings'>, string] {
  switch (target.kind) {
    case 'subject':
      return ['subjects', target.subject]
    case 'session':
      return ['sessions', target.session]
    case 'token':
      return ['tokens', target.jti]
    case 'issued_before':
      return ['issuedBefore', target.subject]
  }
}

/** `r` without the revocation of `target` (the same object when there is none). */
export function withoutRevocation(r: RevocationState, target: RevokeTarget): RevocationState {
  const [section, key] = revocationKey(target)
  const held: Section<unknown> = r[section]
  return held.has(key) ? { ...r, [section]: held.delete(key) } : r
}

/** True when the revocation `entry` has run out at `nowS`: no token it covers can be valid. */
export function hasExpired(entry: Expiring | undefined, nowS: number): boolean {
  return entry?.until !== undefined && entry.until < nowS
}

/**
 * `r` without those of the listed sessions and tokens whose `until` is before `nowMs`; any other
 * listed id (absent, kept forever, or revoked again for longer) is left alone, so a prune can
 * never lift a live revocation. `null` when none of them was due; else the ids it removed.
 */
export function withoutExpired(
  r: RevocationState,
  ids: { sessions: readonly string[]; tokens: readonly string[] },
  nowMs: number,
): { revocations: RevocationState; removed: [MapSection, string][] } | null {
  const nowS = Math.floor(nowMs / 1000)
  const removed: [MapSection, string][] = []
  const sessions = dropExpired(r.sessions, ids.sessions, nowS, 'sessions', removed)
  const tokens = dropExpired(r.tokens, ids.tokens, nowS, 'tokens', removed)
  if (removed.length === 0) return null
  return { revocations: { ...r, sessions, tokens }, removed }
}

function dropExpired<T extends Expiring>(
  section: Section<T>,
  ids: readonly string[],
  nowS: number,
  name: MapSection,
  removed: [MapSection, string][],
): Section<T> {
  let next = section
  for (const id of ids) {
    if (!hasExpired(next.get(id), nowS)) continue
    next = next.delete(id)
    removed.push([name, id])
  }
  return next
}
