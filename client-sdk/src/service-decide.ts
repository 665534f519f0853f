/**
 * Decision queries over the wire: splitting a batch into messages the enforcer accepts, the
 * `POST /v1/decisions` transport, and reading either transport's answer into values or a coded
 * `VigilError`.
 *
 * @module
 * @internal
 */
import {
  isErrorCode,
  VigilError,
  type DecisionBody,
  type DecisionQuery,
  type ErrorCode,
} from './protocol.js'

/** A decision; `code` is set when no decision was reached (a refused token: `token_expired`, …). */
export type DecisionAnswer = DecisionBody & { code?: ErrorCode }

/** The enforcer's largest batch. */
export const MAX_BATCH = 1000
/** The enforcer refuses socket messages over 64 KB; stay well under with the framing. */
export const SOCKET_CHUNK_BYTES = 56 * 1024
/** The API reads bodies up to 1 MB. */
export const HTTP_CHUNK_BYTES = 900 * 1024

/**
 * Splits queries into batches of at most `MAX_BATCH` whose JSON stays under `maxBytes`.
 *
 * @example
 * ```ts
 * for (const batch of chunkQueries(queries, SOCKET_CHUNK_BYTES)) await send(batch)
 * ```
 */
export function chunkQueries(
  queries: readonly DecisionQuery[],
  maxBytes: number,
): DecisionQuery[][] {
  const out: DecisionQuery[][] = []
  let current: DecisionQuery[] = []
  let bytes = 2
  for (const q of queries) {
    // String length over-counts nothing for ASCII and under-counts multi-byte text; ×3 is safe.
    const size = JSON.stringify(q).length * 3 + 1
    if (current.length > 0 && (current.length === MAX_BATCH || bytes + size > maxBytes)) {
      out.push(current)
      current = []
      bytes = 2
    }
    current.push(q)
    bytes += size
  }
  if (current.length > 0) out.push(current)
  return out
}

/** Throws `TypeError` for a query that cannot be right, before anything is sent. */
export function checkQuery(q: unknown, where: string): asserts q is DecisionQuery {
  const o = q as Record<string, unknown> | null
  const ok =
    typeof o === 'object' &&
    o !== null &&
    typeof o['action'] === 'string' &&
    typeof o['resource'] === 'string' &&
    (typeof o['token'] === 'string') !== (typeof o['subject'] === 'string')
  if (!ok) {
    throw new TypeError(`${where}: expected { token | subject, action, resource }`)
  }
}

/** Reads an error body `{error: {code, message, details?}}` (socket ack or HTTP) into an error. */
export function errorFrom(body: unknown, fallback: string): VigilError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } })
    ?.error
  const code = isErrorCode(error?.code) ? error.code : 'internal'
  const message = typeof error?.message === 'string' ? error.message : fallback
  return new VigilError(
    code,
    message,
    error?.details === undefined ? {} : { details: error.details },
  )
}

/** The `data` of an ack `{ok: true, data}`, or the coded error it carries. */
export function ackData<T>(body: unknown): T {
  if (typeof body === 'object' && body !== null && (body as { ok?: unknown }).ok === true) {
    return (body as { data: T }).data
  }
  throw errorFrom(body, 'the enforcer refused the request')
}

/**
 * `POST /v1/decisions` with the API key. Network failures and timeouts are `internal`; an
 * answer from the enforcer keeps its own code (`unauthorized`, `invalid_request`, …).
 *
 * @example
 * ```ts
 * const [a, b] = await decideOverHttp(fetch, url, apiKey, [q1, q2], 10_000)
 * ```
 */
export function decideOverHttp(
  fetchImpl: typeof fetch,
  baseUrl: string,
  apiKey: string,
  body: DecisionQuery | DecisionQuery[],
  timeoutMs: number,
): Promise<unknown> {
  return postJson(fetchImpl, `${baseUrl}/v1/decisions`, apiKey, body, timeoutMs, 'decision API')
}

/**
 * POSTs `body` as JSON with the API key and returns the parsed answer, or throws the enforcer's
 * coded error; network failures and timeouts are `internal`.
 *
 * @example
 * ```ts
 * const r = await postJson(fetch, `${url}/v1/policy/changes`, apiKey, { changes }, 10_000, 'policy API')
 * ```
 */
export async function postJson(
  fetchImpl: typeof fetch,
  url: string,
  apiKey: string,
  body: unknown,
  timeoutMs: number,
  name: string,
): Promise<unknown> {
  let res: Response
  try {
    res = await fetchImpl(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${apiKey}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (err) {
    const what =
      (err as Error)?.name === 'TimeoutError' ? 'did not answer in time' : 'is unreachable'
    throw new VigilError('internal', `the ${name} ${what}`, { cause: err })
  }
  const parsed = (await res.json().catch(() => null)) as unknown
  if (!res.ok) throw errorFrom(parsed, `the ${name} answered HTTP ${res.status}`)
  if (parsed === null) throw new VigilError('internal', `the ${name} answered no JSON`)
  return parsed
}
