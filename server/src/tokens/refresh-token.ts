import { createHash, randomBytes } from 'node:crypto'

/**
 * Opaque refresh tokens: `<sid>.<family secret>.<secret>`. The session id names the one record the
 * store keeps per session (its refresh family); the family secret (128 random bits) is the same in
 * every token of the session and proves that whoever presents a token once held one of this
 * family; the secret (256 random bits) is new at every rotation. The store keeps only SHA-256
 * hashes of the family secret and of the live token, so a leak of the store hands out nothing,
 * and a token that proves the family but is not the live one is a replay of a spent one. A plain
 * hash (no salt, no slow KDF) is enough because the inputs have 128+ bits of entropy.
 */

/** A refresh token and what the store is shown of it. */
export interface RefreshTokenParts {
  token: string
  sid: string
  /** The family secret, carried into the next token of the session. */
  familySecret: string
  /** SHA-256 of the family secret. */
  familyHash: string
  /** SHA-256 of the whole token: the store's proof of the live one. */
  hash: string
}

const PART = '[A-Za-z0-9_-]'
const SHAPE = new RegExp(`^(${PART}{22})\\.(${PART}{22})\\.${PART}{43}$`)

function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url')
}

/**
 * The next refresh token of session `sid`: a new family secret for a new session, or the one
 * the session's tokens already carry.
 */
export function newRefreshToken(
  sid: string,
  familySecret = randomBytes(16).toString('base64url'),
): RefreshTokenParts {
  const token = `${sid}.${familySecret}.${randomBytes(32).toString('base64url')}`
  return { token, sid, familySecret, familyHash: sha256(familySecret), hash: sha256(token) }
}

/** The parts of a presented token, or null when it is not shaped like one Vigil issues. */
export function parseRefreshToken(value: unknown): RefreshTokenParts | null {
  if (typeof value !== 'string') return null
  const m = SHAPE.exec(value)
  if (!m) return null
  const [, sid, familySecret] = m as unknown as [string, string, string]
  return { token: value, sid, familySecret, familyHash: sha256(familySecret), hash: sha256(value) }
}
