import { createHash, randomBytes } from 'node:crypto'

/**
 * Opaque refresh tokens: 256 random bits, base64url. The store keeps only their SHA-256, so a
 * leak of the store does not hand out live sessions. A plain hash (no salt, no slow KDF) is
 * enough because the input has 256 bits of entropy: there is nothing to guess.
 */

/** A fresh refresh token and its storage key. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url')
  return { token, hash: hashRefreshToken(token) }
}

/** The storage key of a refresh token. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url')
}

const SHAPE = /^[A-Za-z0-9_-]{43}$/

/** True when `value` could be a refresh token Vigil issued; anything else is not looked up. */
export function isRefreshTokenShaped(value: unknown): value is string {
  return typeof value === 'string' && SHAPE.test(value)
}
