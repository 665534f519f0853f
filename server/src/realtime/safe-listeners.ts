import { EventEmitter } from 'node:events'
import type { Socket } from 'socket.io'

/** Told about every exception an app's socket listener threw or rejected with. */
export type ListenerFailure = (err: unknown, event: string, socket: Socket) => void

type Listener = (...args: any[]) => unknown
type Wrapped = Listener & { listener: Listener }

const on = EventEmitter.prototype.on
const prepend = EventEmitter.prototype.prependListener

/**
 * Makes every listener added to `socket` unable to end the process. socket.io calls event
 * listeners from `process.nextTick`, so a throw there (an `ack(…)` that is not a function, a bug
 * in the app) is an uncaught exception that takes the whole node and every other user's
 * session with it. Each listener is wrapped so a throw or a rejected promise goes to `failed`.
 *
 * The wrapper carries the original as `.listener` — the convention Node's own `once` wrappers
 * use — so `socket.off(event, original)` and `listeners()` keep working. Installed from an
 * `io.use` middleware, it is in place before any `connection` handler adds listeners.
 */
export function protectListeners(socket: Socket, failed: ListenerFailure): void {
  const guarded = (event: string | symbol, fn: Listener): Wrapped => {
    const name = String(event)
    const wrapped = function (this: unknown, ...args: unknown[]): void {
      try {
        const result = fn.apply(this, args)
        if (result instanceof Promise) result.catch((err: unknown) => failed(err, name, socket))
      } catch (err) {
        failed(err, name, socket)
      }
    } as Wrapped
    wrapped.listener = fn
    return wrapped
  }
  // `once` and `prependOnceListener` go through these two, so they are covered as well.
  const own = socket as unknown as Record<string, unknown>
  own['on'] = own['addListener'] = function (this: Socket, event: string, fn: Listener) {
    return on.call(this, event, guarded(event, fn))
  }
  own['prependListener'] = function (this: Socket, event: string, fn: Listener) {
    return prepend.call(this, event, guarded(event, fn))
  }
  // Catch-all listeners are called synchronously while the packet is decoded.
  const anyWrappers = new WeakMap<Listener, Listener>()
  const anyGuarded = (fn: Listener): Listener => {
    let wrapped = anyWrappers.get(fn)
    if (!wrapped) anyWrappers.set(fn, (wrapped = guarded('*', fn)))
    return wrapped
  }
  const { onAny, prependAny, offAny } = socket
  own['onAny'] = (fn: Listener) => onAny.call(socket, anyGuarded(fn))
  own['prependAny'] = (fn: Listener) => prependAny.call(socket, anyGuarded(fn))
  own['offAny'] = (fn?: Listener) => offAny.call(socket, fn && (anyWrappers.get(fn) ?? fn))
}
