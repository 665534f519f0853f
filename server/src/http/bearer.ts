import type { Request } from 'express'

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

/**
 * The access token from `Authorization: Bearer …` — and only from there. Tokens in query strings
 * end up in access logs, proxies and browser history, so they are never read.
 *
 * @returns the token, `undefined` when there is no such header, or `null` when it is malformed.
 */
export function bearerToken(req: Request): string | undefined | null {
  const header = req.headers.authorization
  if (header === undefined || header === '') return undefined
  const match = BEARER.exec(header)
  return match ? match[1]! : null
}
