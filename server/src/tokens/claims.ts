/**
 * Custom claims a session may carry into its access tokens, and the registered claims they may
 * never set: a caller-supplied `sub`, `exp` or `cnf` would let whoever creates sessions forge
 * identity or lifetime.
 */

/** Claims only the issuer sets (RFC 7519, RFC 9068, RFC 7800, OIDC); custom claims may not. */
export const RESERVED_CLAIMS: readonly string[] = Object.freeze([
  'iss',
  'aud',
  'sub',
  'sid',
  'jti',
  'iat',
  'exp',
  'nbf',
  'typ',
  'cnf',
  'client_id',
  'auth_time',
  'nonce',
  'at_hash',
  'azp',
  'kid',
  'alg',
])

/** Custom claims are at most this many bytes of JSON, so a token stays well under 8 KB. */
export const MAX_CUSTOM_CLAIMS_BYTES = 4096

const MAX_DEPTH = 8
// Namespaced URIs (`https://example.com/roles`) are common claim names; whitespace is not.
const CLAIM_NAME = /^[^\s\p{Cc}]{1,200}$/u

export type ClaimsCheck = { ok: true } | { ok: false; path: string; message: string }

/**
 * Checks custom claims before a session is created: a plain JSON object, no reserved claim,
 * at most {@link MAX_CUSTOM_CLAIMS_BYTES} bytes. `undefined` is accepted (no custom claims).
 *
 * @example
 * ```ts
 * const check = checkCustomClaims(body.claims)
 * if (!check.ok) return res.status(400).json({ error: { code: 'invalid_payload', message: `${check.path}: ${check.message}` } })
 * ```
 */
export function checkCustomClaims(claims: unknown): ClaimsCheck {
  if (claims === undefined) return { ok: true }
  if (!isPlainObject(claims)) return fail('(root)', 'must be a JSON object')
  for (const name of Object.keys(claims)) {
    if (!CLAIM_NAME.test(name)) return fail(name, 'is not a valid claim name')
    if (RESERVED_CLAIMS.includes(name)) return fail(name, 'is reserved and set by the issuer')
  }
  const walked = walk(claims, '', 0)
  if (!walked.ok) return walked
  const bytes = Buffer.byteLength(JSON.stringify(claims), 'utf8')
  if (bytes > MAX_CUSTOM_CLAIMS_BYTES) {
    return fail('(root)', `must be at most ${MAX_CUSTOM_CLAIMS_BYTES} bytes of JSON (is ${bytes})`)
  }
  return { ok: true }
}

function walk(value: unknown, path: string, depth: number): ClaimsCheck {
  if (depth > MAX_DEPTH) return fail(path, `nests deeper than ${MAX_DEPTH} levels`)
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return { ok: true }
  if (typeof value === 'number') {
    return Number.isFinite(value) ? { ok: true } : fail(path, 'must be a finite number')
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const r = walk(value[i], join(path, String(i)), depth + 1)
      if (!r.ok) return r
    }
    return { ok: true }
  }
  if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const r = walk(v, join(path, k), depth + 1)
      if (!r.ok) return r
    }
    return { ok: true }
  }
  // undefined, functions, bigint, Date, Map…: JSON would drop or mangle them silently.
  return fail(path, 'must be a JSON value')
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
}

function fail(path: string, message: string): ClaimsCheck {
  return { ok: false, path: path || '(root)', message }
}
