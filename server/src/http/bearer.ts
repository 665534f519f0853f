import type { Request } from 'express'

/** RFC 6750 §2.1 b64token: what a Bearer credential may be made of. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/**
 * The access token from `Authorization: Bearer …` — and only from there. Tokens in query strings
 * end up in access logs, proxies and browser history, so they are never read.
 *
 * @returns the token, `undefined` when there is no such header, or `null` when it is malformed.
 */
export function bearerToken(req: Request): string | undefined | null {
  const candidate = bearerCandidate(req.headers.authorization)
  return typeof candidate === 'string' && !isB64Token(candidate) ? null : candidate
}

/**
 * The credential of a `Bearer` header (scheme case-insensitive, spaces around it tolerated),
 * its characters not yet checked: `enforce()` first looks it up in the verified-token cache,
 * which only ever holds compact JWS strings, and checks the syntax with `isB64Token` on a miss —
 * so the common request skips a regular-expression scan of a kilobyte-long token.
 *
 * @returns the credential, `undefined` when there is no header, `null` when it is not `Bearer`.
 */
export function bearerCandidate(header: string | undefined): string | undefined | null {
  if (header === undefined || header === '') return undefined
  if (header.length < 8 || header.charCodeAt(6) !== 32) return null
  const scheme = header.slice(0, 6)
  if (scheme !== 'Bearer' && scheme.toLowerCase() !== 'bearer') return null
  let start = 7
  while (header.charCodeAt(start) === 32) start++
  let end = header.length
  while (end > start && header.charCodeAt(end - 1) === 32) end--
  return start === end ? null : header.slice(start, end)
}

/** Whether a Bearer credential has RFC 6750's b64token syntax. */
export function isB64Token(candidate: string): boolean {
  return B64TOKEN.test(candidate)
}
