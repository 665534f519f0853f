import type { Response } from 'express'
import { VigilError, type ErrorBody, type ErrorCode } from '@vigil-enforcer/client/protocol'

/** HTTP status of each error code; the edge is the only place that knows about statuses. */
export const STATUS: Readonly<Record<ErrorCode, number>> = {
  token_missing: 401,
  token_invalid: 401,
  token_expired: 401,
  revoked: 401,
  unauthorized: 401,
  forbidden: 403,
  origin_forbidden: 403,
  invalid_payload: 400,
  invalid_request: 400,
  invalid_grant: 400,
  invalid_policy: 400,
  invalid_json: 400,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  policy_too_large: 413,
  budget_exceeded: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  too_many_sockets: 429,
  internal: 500,
  policy_stale: 503,
  store_reset: 503,
  store_unavailable: 503,
  closed: 503,
}

/**
 * Sends `{error: {code, message}}` with the status of `code` and, for bearer-token failures, the
 * RFC 6750 `WWW-Authenticate` challenge. Messages are ours; no caller input that could be a token
 * is ever echoed.
 *
 * @example
 * ```ts
 * return sendError(res, 'forbidden', 'not allowed to doc:write on doc/42')
 * ```
 */
export function sendError(
  res: Response,
  code: ErrorCode,
  message: string,
  details?: unknown,
): void {
  const status = STATUS[code]
  // RFC 7235 §3.1: every 401 carries a challenge; no credential (or no Bearer one) gets no error.
  if (code === 'token_missing' || code === 'unauthorized') {
    res.setHeader('WWW-Authenticate', 'Bearer realm="vigil"')
  } else if (status === 401) {
    res.setHeader('WWW-Authenticate', challenge('invalid_token', message))
  } else if (code === 'forbidden') {
    res.setHeader('WWW-Authenticate', challenge('insufficient_scope', message))
  }
  send(res, status, code, message, details)
}

/**
 * Refuses a Bearer credential that was presented but is not valid — a wrong API key: 401
 * `unauthorized`, and RFC 6750 §3.1's `error="invalid_token"`, so a standard client knows to
 * replace the credential rather than retry without one.
 *
 * @example
 * ```ts
 * return sendInvalidCredential(res, 'the API key is not valid')
 * // WWW-Authenticate: Bearer realm="vigil", error="invalid_token", error_description="the API key is not valid"
 * ```
 */
export function sendInvalidCredential(res: Response, message: string): void {
  res.setHeader('WWW-Authenticate', challenge('invalid_token', message))
  send(res, STATUS.unauthorized, 'unauthorized', message)
}

function challenge(error: 'invalid_token' | 'insufficient_scope', message: string): string {
  // Header values must be printable ASCII without quotes; resource names come from paths.
  const description = message.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?')
  return `Bearer realm="vigil", error="${error}", error_description="${description}"`
}

function send(
  res: Response,
  status: number,
  code: ErrorCode,
  message: string,
  details?: unknown,
): void {
  const error: ErrorBody['error'] = { code, message }
  if (details !== undefined) error.details = details
  res.status(status).json({ error } satisfies ErrorBody)
}

/** Sends a thrown error: a VigilError keeps its code; anything else is an opaque `internal`. */
export function sendThrown(res: Response, err: unknown): void {
  if (err instanceof VigilError) sendError(res, err.code, err.message, err.details)
  else sendError(res, 'internal', 'internal error')
}
