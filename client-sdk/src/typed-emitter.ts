/**
 * A typed emitter whose handlers cannot break their client: a handler that throws is reported
 * through `onHandlerError` and the other handlers still run. The browser client and the service
 * client both build their events on it.
 *
 * @module
 * @internal
 */

export interface TypedEmitter<M extends object> {
  on<E extends keyof M>(event: E, handler: (payload: M[E]) => void): () => void
  off<E extends keyof M>(event: E, handler: (payload: M[E]) => void): void
  emit<E extends keyof M>(event: E, payload: M[E]): void
  /** True when `event` has at least one handler. */
  has(event: keyof M): boolean
  clear(): void
}

/**
 * @example
 * ```ts
 * const emitter = createTypedEmitter<{ revoked: RevokedEvent }>((event, err) => debug(event, err))
 * emitter.on('revoked', (e) => teardown(e.reason))
 * ```
 */
export function createTypedEmitter<M extends object>(
  onHandlerError: (event: keyof M, err: unknown) => void,
): TypedEmitter<M> {
  const handlers = new Map<keyof M, Set<(payload: never) => void>>()
  const emitter: TypedEmitter<M> = {
    on(event, handler) {
      let set = handlers.get(event)
      if (!set) handlers.set(event, (set = new Set()))
      set.add(handler)
      return () => emitter.off(event, handler)
    },
    off(event, handler) {
      handlers.get(event)?.delete(handler)
    },
    emit(event, payload) {
      // A copy: a handler may unsubscribe itself (or others) while we iterate.
      for (const handler of [...(handlers.get(event) ?? [])]) {
        try {
          ;(handler as (p: typeof payload) => void)(payload)
        } catch (err) {
          onHandlerError(event, err)
        }
      }
    },
    has(event) {
      return (handlers.get(event)?.size ?? 0) > 0
    },
    clear() {
      handlers.clear()
    },
  }
  return emitter
}
