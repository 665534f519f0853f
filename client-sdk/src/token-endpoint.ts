/**
 * `POST /v1/token`: trades the refresh token for a rotated pair. Every failure comes back as a
 * coded `VigilError`; only `invalid_grant` means the session is over, the rest are worth a retry.
 *
 * @module
 * @internal
 */
import type { SessionTokens } from './options.js'
import { isErrorCode, VigilError } from './protocol.js'

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
    const error = body?.['error'] as
      { code?: unknown; message?: unknown; details?: { reason?: unknown } } | undefined
    const code = isErrorCode(error?.code) ? error.code : 'internal'
    const message = typeof error?.message === 'string' ? error.message : `HTTP ${res.status}`
    // The enforcer says why a grant was refused (`revoked`, `reused`, `expired`, …).
    const reason = typeof error?.details?.reason === 'string' ? error.details.reason : undefined
    throw new VigilError(code, `refresh refused: ${message}`, {
      details: { status: res.status, reason },
    })
  } finally {
    clearTimeout(timer)
    signal.removeEventListener('abort', abort)
  }
}
