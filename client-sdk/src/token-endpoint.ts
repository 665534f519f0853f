/**
 * `POST /v1/token`: trades the refresh token for a rotated pair. Every failure comes back as a
 * coded `VigilError`; only `invalid_grant` means the session is over, the rest are worth a retry.
 * The endpoint answers errors as RFC 6749 §5.2 says (`{error, error_description}`); an older
 * enforcer's `{error: {code, message}}` is read too.
 *
 * @module
 * @internal
 */
import type { SessionTokens } from './options.js'
import { isErrorCode, VigilError, type ErrorCode } from './protocol.js'

/** A refresh that hangs this long is abandoned and retried. */
const TOKEN_TIMEOUT_MS = 15_000

/**
 * Rotates the session's refresh token.
 *
 * @example
 * ```ts
 * const pair = await exchangeRefreshToken(fetch, 'https://vigil.example', refreshToken, signal)
 * ```
 */
export async function exchangeRefreshToken(
  fetchImpl: typeof fetch,
  baseUrl: string,
  refreshToken: string,
  signal: AbortSignal,
): Promise<SessionTokens> {
  const timeout = new AbortController()
  const timer = setTimeout(
    () => timeout.abort(new VigilError('internal', 'the token endpoint did not answer in time')),
    TOKEN_TIMEOUT_MS,
  )
  const abort = (): void => timeout.abort(signal.reason)
  signal.addEventListener('abort', abort, { once: true })
  try {
    let res: Response
    try {
      res = await fetchImpl(`${baseUrl}/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: refreshToken }),
        credentials: 'omit',
        cache: 'no-store',
        signal: timeout.signal,
      })
    } catch (err) {
      if (timeout.signal.aborted) throw timeout.signal.reason
      throw new VigilError('internal', 'the token endpoint could not be reached', { cause: err })
    }
    const body = (await res.json().catch(() => null)) as Record<string, unknown> | null
    if (timeout.signal.aborted) throw timeout.signal.reason
    if (res.ok && body && typeof body['access_token'] === 'string') {
      return body as unknown as SessionTokens
    }
    const { code, message, reason } = readError(res.status, body)
    const retryAfterS = retryAfter(res.headers.get('retry-after'))
    throw new VigilError(code, `refresh refused: ${message}`, {
      details: {
        status: res.status,
        reason,
        ...(retryAfterS === undefined ? {} : { retryAfterS }),
      },
    })
  } finally {
    clearTimeout(timer)
    signal.removeEventListener('abort', abort)
  }
}

/** RFC 6749 §5.2 error codes, as the SDK's own codes (a Map: no prototype keys). */
const OAUTH_CODES: ReadonlyMap<string, ErrorCode> = new Map([
  ['invalid_grant', 'invalid_grant'],
  ['invalid_request', 'invalid_request'],
  ['unsupported_grant_type', 'invalid_request'],
  ['server_error', 'internal'],
])

/** The code, message and refusal reason of an error answer, in either shape. */
function readError(
  status: number,
  body: Record<string, unknown> | null,
): { code: ErrorCode; message: string; reason: string | undefined } {
  const error = body?.['error']
  if (typeof error === 'string') {
    const description = body?.['error_description']
    const code =
      error === 'temporarily_unavailable'
        ? status === 429
          ? 'rate_limited'
          : 'store_unavailable'
        : (OAUTH_CODES.get(error) ?? (isErrorCode(error) ? error : 'internal'))
    const reason = body?.['reason']
    return {
      code,
      message: typeof description === 'string' ? description : `${error} (HTTP ${status})`,
      // The enforcer says why a grant was refused (`revoked`, `reused`, `expired`, …).
      reason: typeof reason === 'string' ? reason : undefined,
    }
  }
  const old = error as
    { code?: unknown; message?: unknown; details?: { reason?: unknown } } | undefined
  return {
    code: isErrorCode(old?.code) ? old.code : 'internal',
    message: typeof old?.message === 'string' ? old.message : `HTTP ${status}`,
    reason: typeof old?.details?.reason === 'string' ? old.details.reason : undefined,
  }
}

/** `Retry-After` in whole seconds (RFC 9110 §10.2.3: seconds, or an HTTP date). */
function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim())
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000))
}
