/**
 * `vigil.fetch`: the platform `fetch` with the access token attached, one renewal and one retry
 * on `401 token_expired`, and an abort wired to the session — teardown aborts every request, a
 * step-down aborts those whose `permission` it removed.
 *
 * @module
 * @internal
 */
import {
  checkRequiredPermission,
  survivesStepDown,
  type CapabilityCheck,
  type RequiredPermission,
} from './capabilities.js'
import type { Permission } from './protocol.js'
import { VigilError } from './protocol.js'
import type { TokenKeeper } from './token-keeper.js'

/** `fetch` init plus what Vigil needs to know about the request. */
export interface VigilRequestInit extends RequestInit {
  /**
   * The permission this request needs. A step-down that removes it aborts the request with a
   * `VigilError` coded `forbidden`. An action alone (`'doc:write'`) is removed by any removed
   * permission on that action; `{ action, resource }` is checked exactly with `can()`.
   */
  permission?: RequiredPermission
}

export interface GuardedFetch {
  fetch(input: RequestInfo | URL, init?: VigilRequestInit): Promise<Response>
  /** Aborts the open requests a step-down took the permission of; returns how many. */
  stepDown(removed: readonly Permission[], can: CapabilityCheck): number
  /** Aborts every open request and response body (teardown). */
  abortAll(reason: VigilError): void
}

interface Open {
  controller: AbortController
  permission: RequiredPermission | undefined
  unlink: () => void
}

/**
 * Creates `vigil.fetch` bound to a token keeper.
 *
 * A request stays "open" while its `Response` is reachable, not just until the headers arrive:
 * a body that streams for minutes (an export) must be cut off by a teardown too. A
 * `FinalizationRegistry` forgets it once the app lets go of the response.
 *
 * @example
 * ```ts
 * const guarded = createGuardedFetch({ keeper, signal, fetch, origins })
 * await guarded.fetch('/api/docs/42', { method: 'PUT', body, permission: 'doc:write' })
 * ```
 */
export function createGuardedFetch(deps: {
  keeper: TokenKeeper
  /** The client's teardown signal: no request starts once it has aborted. */
  signal: AbortSignal
  fetch: typeof fetch
  origins: Set<string>
}): GuardedFetch {
  const open = new Map<symbol, Open>()
  const forget = (key: symbol): void => {
    open.get(key)?.unlink()
    open.delete(key)
  }
  const responses = new FinalizationRegistry<symbol>(forget)

  async function guardedFetch(
    input: RequestInfo | URL,
    init: VigilRequestInit = {},
  ): Promise<Response> {
    if (deps.signal.aborted) throw deps.signal.reason
    const { permission: raw, ...rest } = init
    const permission = checkRequiredPermission(raw)
    const page = (globalThis as { location?: { href?: string } }).location?.href
    const target = new URL(input instanceof Request ? input.url : String(input), page)
    if (!deps.origins.has(target.origin)) {
      throw new TypeError(
        `vigil.fetch: refusing to send the access token to ${target.origin}; list it in options.origins`,
      )
    }
    // One controller per request joins teardown, step-down and the caller's own signals; its
    // abort reason is what the caller's promise (or body read) rejects with.
    const controller = new AbortController()
    const own = [rest.signal, input instanceof Request ? input.signal : null]
    const key = Symbol('vigil.fetch')
    open.set(key, { controller, permission, unlink: link(controller, own) })
    // A Request body can be read once: keep a copy for the retry.
    const spare = input instanceof Request ? input.clone() : null
    const replayable = !(rest.body instanceof ReadableStream)
    try {
      const first = await deps.keeper.current('wake')
      let res = await send(input, rest, first, controller.signal)
      if (res.status === 401 && replayable && (await errorCode(res)) === 'token_expired') {
        const next = await renewed(first, controller.signal)
        if (next !== null) res = await send(spare ?? input, rest, next, controller.signal)
      }
      responses.register(res, key)
      return res
    } catch (err) {
      forget(key)
      // fetch implementations differ in what they reject with on abort; the reason is ours.
      if (controller.signal.aborted) throw controller.signal.reason
      throw err
    }
  }

  /** A token other than `used`, renewing once if no other request has; null to give up. */
  async function renewed(used: string, signal: AbortSignal): Promise<string | null> {
    try {
      const now = deps.keeper.held()?.access
      if (now !== undefined && now !== used) return now
      return (await deps.keeper.refresh('retry')).access
    } catch (err) {
      if (signal.aborted) throw signal.reason
      // The session is over: say so rather than hand back a 401 that looks retryable.
      if (err instanceof VigilError && err.code === 'invalid_grant') throw err
      return null
    }
  }

  function send(
    input: RequestInfo | URL,
    init: RequestInit,
    token: string,
    signal: AbortSignal,
  ): Promise<Response> {
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : {}))
    headers.set('authorization', `Bearer ${token}`)
    return deps.fetch(input, { ...init, headers, signal })
  }

  return {
    fetch: guardedFetch,
    stepDown(removed, can) {
      let aborted = 0
      for (const [key, entry] of [...open]) {
        if (!entry.permission || survivesStepDown(entry.permission, removed, can)) continue
        const p = entry.permission
        const label = typeof p === 'string' ? p : `${p.action} on ${p.resource}`
        entry.controller.abort(
          new VigilError('forbidden', `aborted: the session no longer holds ${label}`),
        )
        forget(key)
        aborted += 1
      }
      return aborted
    },
    abortAll(reason) {
      for (const [key, entry] of [...open]) {
        entry.controller.abort(reason)
        forget(key)
      }
    },
  }
}

/** The `error.code` of a JSON error body, read from a clone so the caller still gets the body. */
async function errorCode(res: Response): Promise<string | undefined> {
  try {
    const body = (await res.clone().json()) as { error?: { code?: unknown } }
    return typeof body?.error?.code === 'string' ? body.error.code : undefined
  } catch {
    return undefined
  }
}

/** Aborts `controller` when any of `signals` aborts; returns the function that unlinks them. */
function link(
  controller: AbortController,
  signals: ReadonlyArray<AbortSignal | null | undefined>,
): () => void {
  const unlinks: Array<() => void> = []
  for (const s of signals) {
    if (!s) continue
    if (s.aborted) {
      controller.abort(s.reason)
      break
    }
    const onAbort = (): void => controller.abort(s.reason)
    s.addEventListener('abort', onAbort, { once: true })
    unlinks.push(() => s.removeEventListener('abort', onAbort))
  }
  return () => unlinks.forEach((u) => u())
}
