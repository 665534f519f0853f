/**
 * A fake `fetch` standing in for the enforcer's HTTP side, for tests that need exact control of
 * what `POST /v1/token` and an API route answer, and in what order.
 */

export const FAKE_URL = 'https://vigil.test'

/** One clock reading per test process, so a pair built twice is the same pair. */
const T0 = Date.now()

/** A JWT-shaped token (unsigned: the SDK never verifies, the enforcer does). */
export function fakeJwt(claims: { exp: number; iat?: number; sid?: string; n?: number }): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${part({ alg: 'EdDSA', typ: 'at+jwt' })}.${part(claims)}.c2ln`
}

/** A session pair as `POST /v1/sessions` returns it, valid for `ttlS` from `now`. */
export function fakePair(n: number, ttlS = 300, now = T0) {
  const iat = Math.floor(now / 1000)
  return {
    access_token: fakeJwt({ exp: iat + ttlS, iat, sid: 's-1', n }),
    refresh_token: `refresh-${n}`,
    token_type: 'Bearer' as const,
    expires_in: ttlS,
    session_id: 's-1',
  }
}

export interface Call {
  url: string
  method: string
  authorization: string | null
  body: string | null
}

type Reply = Response | ((call: Call, signal: AbortSignal | null) => Promise<Response> | Response)

/**
 * A fetch that records every call and answers from queues: `token` for `POST /v1/token`,
 * `api` for everything else. An empty queue answers 500.
 *
 * @example
 * ```ts
 * const fake = fakeFetch()
 * fake.api.push(json(401, { error: { code: 'token_expired', message: 'expired' } }))
 * ```
 */
export function fakeFetch() {
  const calls: Call[] = []
  const token: Reply[] = []
  const api: Reply[] = []
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input)
    const headers = new Headers(init.headers)
    const call: Call = {
      url,
      method: init.method ?? 'GET',
      authorization: headers.get('authorization'),
      body: typeof init.body === 'string' ? init.body : null,
    }
    calls.push(call)
    init.signal?.throwIfAborted()
    const queue = url === `${FAKE_URL}/v1/token` ? token : api
    const next = queue.shift()
    if (next === undefined) return json(500, { error: { code: 'internal', message: 'no reply' } })
    return typeof next === 'function' ? next(call, init.signal ?? null) : next
  }
  return {
    fetch: fetch as typeof globalThis.fetch,
    calls,
    token,
    api,
    tokenCalls: () => calls.filter((c) => c.url.endsWith('/v1/token')),
    apiCalls: () => calls.filter((c) => !c.url.endsWith('/v1/token')),
  }
}

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  })
}

/** A reply that never comes until the request is aborted. */
export function never(_call: Call, signal: AbortSignal | null): Promise<Response> {
  return new Promise((_resolve, reject) => {
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
}

export const expired401 = () =>
  json(401, { error: { code: 'token_expired', message: 'the token has expired' } })
