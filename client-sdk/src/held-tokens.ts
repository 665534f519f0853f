/**
 * The tokens a client holds, their expiry on the *client's* clock, and their copy in Web
 * Storage. Expiry is kept as "received at + expires_in" whenever the server said `expires_in`,
 * so a client whose clock is off still refreshes on time.
 *
 * @module
 * @internal
 */
import { readClaims } from './jwt.js'
import type { SessionTokens, VigilStorage } from './options.js'

export interface HeldTokens {
  access: string
  refresh: string | undefined
  /** Client-clock milliseconds when the access token expires; undefined for opaque tokens. */
  expiresAt: number | undefined
  /** The access token's whole lifetime in milliseconds, when known. */
  lifetimeMs: number | undefined
  sessionId: string | undefined
}

/** The JSON kept under the storage key. Version 1. */
interface StoredSession {
  v: 1
  access_token: string
  refresh_token?: string
  session_id?: string
  expires_at?: number
  lifetime_ms?: number
}

/**
 * Tokens from a session pair or a bare access token, stamped with the moment they arrived.
 *
 * @example
 * ```ts
 * const held = holdTokens(await res.json(), Date.now())
 * ```
 */
export function holdTokens(session: SessionTokens, receivedAt: number): HeldTokens {
  const claims = readClaims(session.access_token)
  const lifetimeS =
    session.expires_in ??
    (claims.exp !== undefined && claims.iat !== undefined ? claims.exp - claims.iat : undefined)
  let expiresAt: number | undefined
  if (session.expires_in !== undefined) expiresAt = receivedAt + session.expires_in * 1000
  else if (claims.exp !== undefined) expiresAt = claims.exp * 1000
  return {
    access: session.access_token,
    refresh: session.refresh_token,
    expiresAt,
    lifetimeMs: lifetimeS === undefined ? undefined : lifetimeS * 1000,
    sessionId: session.session_id ?? claims.sid,
  }
}

/** The expiry claim of the held access token in seconds since epoch, for events. */
export function expOf(held: HeldTokens): number | undefined {
  return readClaims(held.access).exp
}

/** Reads the stored session; a missing, foreign or corrupt entry reads as none. */
export function loadStored(storage: VigilStorage, key: string): HeldTokens | null {
  let raw: string | null
  try {
    raw = storage.getItem(key)
  } catch {
    return null
  }
  if (!raw) return null
  try {
    const s = JSON.parse(raw) as Partial<StoredSession>
    if (s.v !== 1 || typeof s.access_token !== 'string' || !s.access_token) return null
    const claims = readClaims(s.access_token)
    return {
      access: s.access_token,
      refresh: typeof s.refresh_token === 'string' ? s.refresh_token : undefined,
      expiresAt: typeof s.expires_at === 'number' ? s.expires_at : undefined,
      lifetimeMs: typeof s.lifetime_ms === 'number' ? s.lifetime_ms : undefined,
      sessionId: typeof s.session_id === 'string' ? s.session_id : claims.sid,
    }
  } catch {
    return null
  }
}

/** Writes the held tokens under `key`. Storage errors (quota, private mode) are ignored. */
export function saveStored(storage: VigilStorage, key: string, held: HeldTokens): boolean {
  const s: StoredSession = { v: 1, access_token: held.access }
  if (held.refresh !== undefined) s.refresh_token = held.refresh
  if (held.sessionId !== undefined) s.session_id = held.sessionId
  if (held.expiresAt !== undefined) s.expires_at = held.expiresAt
  if (held.lifetimeMs !== undefined) s.lifetime_ms = held.lifetimeMs
  try {
    storage.setItem(key, JSON.stringify(s))
    return true
  } catch {
    return false
  }
}

/** Removes the stored session, but only if it is still this session's (not a newer sign-in). */
export function wipeStored(storage: VigilStorage, key: string, sessionId: string | undefined) {
  try {
    const stored = loadStored(storage, key)
    if (!stored || sessionId === undefined || stored.sessionId === sessionId) {
      storage.removeItem(key)
    }
  } catch {
    // Nothing more can be done about a storage that refuses to forget.
  }
}
