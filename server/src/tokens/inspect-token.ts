import type { VerifyDetail } from './verify-result.js'

/**
 * The checks a token must pass before any key is looked up or any signature computed. They are
 * cheap, so garbage and the classic header attacks (`alg: none`, HMAC keyed with a public key,
 * embedded or remote keys) never reach the crypto, the key ring or the network.
 */

/** Header parameters that would let the token choose its own key or change how it is processed. */
export const FORBIDDEN_HEADERS: readonly string[] = ['jwk', 'jku', 'x5u', 'x5c', 'crit']

export interface InspectedToken {
  ok: true
  header: Record<string, unknown>
  payload: Record<string, unknown>
}

export interface InspectOptions {
  maxTokenBytes: number
  /** Every algorithm any issuer may use; anything else is refused here. */
  algorithms: ReadonlySet<string>
}

const BASE64URL = /^[A-Za-z0-9_-]+$/
const SIGNATURE = /^[A-Za-z0-9_-]*$/

/**
 * Parses a compact JWS without trusting it: size, shape, JSON, forbidden headers, the algorithm
 * allow-list. Returns the parsed header and payload, or the reason to reject.
 */
export function inspectToken(
  token: unknown,
  options: InspectOptions,
): InspectedToken | { ok: false; detail: VerifyDetail } {
  // Length in UTF-16 units bounds the UTF-8 bytes from below; a valid token is ASCII anyway.
  if (typeof token !== 'string' || token.length > options.maxTokenBytes) {
    return { ok: false, detail: 'too_large' }
  }
  const parts = token.split('.')
  if (parts.length !== 3) return { ok: false, detail: 'malformed' }
  const [h, p, s] = parts as [string, string, string]
  // An empty signature is checked by the crypto, so that `alg: none` is reported as such.
  if (!BASE64URL.test(h) || !BASE64URL.test(p) || !SIGNATURE.test(s)) {
    return { ok: false, detail: 'malformed' }
  }
  const header = parseObject(h)
  const payload = parseObject(p)
  if (!header || !payload) return { ok: false, detail: 'malformed' }

  if (typeof header.alg !== 'string' || !options.algorithms.has(header.alg)) {
    return { ok: false, detail: 'alg_not_allowed' }
  }
  for (const name of FORBIDDEN_HEADERS) {
    if (Object.hasOwn(header, name)) return { ok: false, detail: 'header_forbidden' }
  }
  if (header.kid !== undefined && typeof header.kid !== 'string') {
    return { ok: false, detail: 'malformed' }
  }
  return { ok: true, header, payload }
}

/**
 * True when a `typ` header names `expected`; compared as media types, case-insensitively, with or
 * without the `application/` prefix (RFC 7515 §4.1.9).
 */
export function typMatches(typ: unknown, expected: string): boolean {
  if (typeof typ !== 'string') return false
  return mediaType(typ) === mediaType(expected)
}

function mediaType(value: string): string {
  const lower = value.toLowerCase()
  return lower.includes('/') ? lower : `application/${lower}`
}

function parseObject(part: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null
    return value as Record<string, unknown>
  } catch {
    return null
  }
}
