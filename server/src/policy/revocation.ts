/**
 * Which revocation, if any, applies to a principal. Checked before any permission: a revoked
 * subject, session or token gets nothing, whatever its roles say.
 *
 * @module
 */

import type { Principal } from './principal.js'
import type { RevocationState, Section } from './state.js'

/** The reasons a revocation gives; a subset of the decision reasons. */
export type RevocationReason =
  'subject_revoked' | 'session_revoked' | 'token_revoked' | 'issued_before'

/** A revocation that applies: its reason code and the stored reason text (e.g. `compromised`). */
export interface RevocationHit {
  reason: RevocationReason
  detail: string
}

/**
 * Reads `section[key]` only when `key` is a string: a principal's claims come from a token, and
 * a non-string `sid` must find nothing rather than match a stringified key.
 */
function entryOf<T>(section: Section<T>, key: unknown): T | undefined {
  return typeof key === 'string' ? section.get(key) : undefined
}

/**
 * The revocation that applies to `p`, checked in order: subject, session (`sid`), token (`jti`),
 * then issued-before. A principal without a numeric `iat` counts as issued before any boundary:
 * when the age of a token cannot be told, the safe answer is that it is too old.
 *
 * @example
 * ```ts
 * const hit = revocationOf(policy.revocations, principal)
 * if (hit) disconnect(hit.reason, hit.detail)
 * ```
 */
export function revocationOf(revocations: RevocationState, p: Principal): RevocationHit | null {
  const subject = entryOf(revocations.subjects, p.sub)
  if (subject !== undefined) return { reason: 'subject_revoked', detail: subject.reason }
  const session = entryOf(revocations.sessions, p.sid)
  if (session !== undefined) return { reason: 'session_revoked', detail: session.reason }
  const token = entryOf(revocations.tokens, p.jti)
  if (token !== undefined) return { reason: 'token_revoked', detail: token.reason }
  const boundary = entryOf(revocations.issuedBefore, p.sub)
  if (boundary !== undefined) {
    const iat = p.iat
    // `!(iat >= before)` also catches NaN, which compares false with everything.
    if (typeof iat !== 'number' || !(iat >= boundary.before)) {
      return { reason: 'issued_before', detail: boundary.reason }
    }
  }
  return null
}
