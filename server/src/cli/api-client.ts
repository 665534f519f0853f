import type { ErrorBody } from '@vigil-enforcer/client/protocol'

/** How a command ends unsuccessfully: the lines to print on stderr and the exit status. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure'
  constructor(
    readonly exitCode: 1 | 2,
    readonly lines: string[],
  ) {
    super(lines[0])
  }
}

export interface AdminApi {
  /** The enforcer's base URL, for messages. */
  url: string
  /** Calls the API and returns the JSON answer of a 2xx; anything else is a `CliFailure`. */
  call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T>
}

/**
 * The admin API as the CLI uses it. A refusal by the enforcer becomes exit status 1 with its
 * `code: message` and, for a 400, one `path: message` line per offending field; an enforcer that
 * cannot be reached is exit status 2. The API key goes in the header and nowhere else.
 *
 * @example
 * ```ts
 * const api = createAdminApi({ url: 'http://127.0.0.1:3000', apiKey, fetch })
 * const { version } = await api.call<{ version: number }>('POST', '/v1/keys/rotate')
 * ```
 */
export function createAdminApi(options: {
  url: string
  apiKey: string
  fetch?: typeof fetch
  timeoutMs?: number
}): AdminApi {
  const base = options.url.replace(/\/+$/, '')
  const fetchImpl = options.fetch ?? globalThis.fetch
  const timeoutMs = options.timeoutMs ?? 15_000

  return {
    url: base,
    async call<T>(
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<T> {
      let res: Response
      try {
        res = await fetchImpl(base + path, {
          method,
          headers: {
            ...headers,
            authorization: `Bearer ${options.apiKey}`,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(timeoutMs),
        })
      } catch (err) {
        throw new CliFailure(2, [`cannot reach the enforcer at ${base} (${describeNetwork(err)})`])
      }
      const text = await res.text()
      let json: unknown
      try {
        json = text === '' ? null : JSON.parse(text)
      } catch {
        json = undefined
      }
      if (res.ok && json !== undefined) return json as T
      throw refusal(res.status, json)
    },
  }
}

/** The lines of an error answer: `code: message`, then each `path: message` detail. */
function refusal(status: number, json: unknown): CliFailure {
  const error = (json as Partial<ErrorBody> | null | undefined)?.error
  if (!error || typeof error.code !== 'string') {
    return new CliFailure(1, [`the server answered HTTP ${status} without a Vigil error`])
  }
  const lines = [`${error.code}: ${error.message}`]
  if (Array.isArray(error.details)) {
    for (const d of error.details as { path?: unknown; message?: unknown }[]) {
      if (typeof d?.path === 'string') lines.push(`  ${d.path}: ${String(d.message)}`)
    }
  }
  return new CliFailure(1, lines)
}

function describeNetwork(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string } }
  if (e?.name === 'TimeoutError') return 'no answer in time'
  return e?.cause?.code ?? e?.cause?.message ?? (err as Error)?.message ?? 'network error'
}
