/**
 * How `revoke`, `revoke.lift` and `revoke.prune` edit the revocation sections. Each costs one copy
 * of the one section it touches and O(1) beyond that: no change ever scans a whole section.
 *
 * @module
 */

import { dropEntry, entryCount, noteCount, putEntry, type TooLarge } from './limits.js'
import type { Revocations, RevokeTarget } from './schema.js'

export type RevocationsResult = { ok: true; revocations: Revocations } | TooLarge

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
  r: Revocations,
  target: RevokeTarget,
  reason = 'revoked',
  at: number,
): RevocationsResult {
  switch (target.kind) {
    case 'subject': {
      const put = putEntry(r.subjects, target.subject, { reason, at }, 'revocations.subjects')
      return put.ok ? done({ ...r, subjects: put.section }) : put
    }
    case 'session': {
      const entry = lasting(r.sessions[target.session], expiring(reason, at, target.until))
      const put = putEntry(r.sessions, target.session, entry, 'revocations.sessions')
      return put.ok ? done({ ...r, sessions: put.section }) : put
    }
    case 'token': {
      const entry = lasting(r.tokens[target.jti], expiring(reason, at, target.until))
      const put = putEntry(r.tokens, target.jti, entry, 'revocations.tokens')
      return put.ok ? done({ ...r, tokens: put.section }) : put
    }
    case 'issued_before': {
      // Moving the boundary backwards would silently un-revoke tokens; keep the later one.
      const before = Math.max(target.before, r.issuedBefore[target.subject]?.before ?? 0)
      const entry = { reason, at, before }
      const put = putEntry(r.issuedBefore, target.subject, entry, 'revocations.issuedBefore')
      return put.ok ? done({ ...r, issuedBefore: put.section }) : put
    }
  }
}

function done(revocations: Revocations): RevocationsResult {
  return { ok: true, revocations }
}

/** `r` without the revocation of `target` (the same object when there is none). */
export function withoutRevocation(r: Revocations, target: RevokeTarget): Revocations {
  switch (target.kind) {
    case 'subject':
      return { ...r, subjects: dropEntry(r.subjects, target.subject) }
    case 'session':
      return { ...r, sessions: dropEntry(r.sessions, target.session) }
    case 'token':
      return { ...r, tokens: dropEntry(r.tokens, target.jti) }
    case 'issued_before':
      return { ...r, issuedBefore: dropEntry(r.issuedBefore, target.subject) }
  }
}

/** True when the revocation `entry` has run out at `nowS`: no token it covers can be valid. */
export function hasExpired(entry: Expiring | undefined, nowS: number): boolean {
  return entry?.until !== undefined && entry.until < nowS
}

/**
 * `r` without those of the listed sessions and tokens whose `until` is before `nowMs`; any other
 * listed id (absent, kept forever, or revoked again for longer) is left alone, so a prune can
 * never lift a live revocation. `null` when none of them was due.
 */
export function withoutExpired(
  r: Revocations,
  ids: { sessions: readonly string[]; tokens: readonly string[] },
  nowMs: number,
): Revocations | null {
  const nowS = Math.floor(nowMs / 1000)
  const sessions = dropExpired(r.sessions, ids.sessions, nowS)
  const tokens = dropExpired(r.tokens, ids.tokens, nowS)
  if (sessions === r.sessions && tokens === r.tokens) return null
  return { ...r, sessions, tokens }
}

function dropExpired<T extends Expiring>(
  section: Readonly<Record<string, T>>,
  ids: readonly string[],
  nowS: number,
): Readonly<Record<string, T>> {
  let next: Record<string, T> | null = null
  let removed = 0
  for (const id of ids) {
    const holder: Readonly<Record<string, T>> = next ?? section
    if (!Object.hasOwn(holder, id) || !hasExpired(holder[id], nowS)) continue
    next ??= { ...section }
    delete next[id]
    removed += 1
  }
  if (next === null) return section
  noteCount(next, entryCount(section) - removed)
  return next
}
