/**
 * Timer helpers that behave the same in browsers and Node: one re-armable timer, delays clamped
 * to what `setTimeout` can hold, and unref'd in Node so a forgotten client never keeps a process
 * alive on its own.
 *
 * @module
 * @internal
 */

/** `setTimeout` fires at once for delays past 2^31 - 1 ms; longer waits are chained. */
const MAX_DELAY_MS = 2 ** 31 - 1

type Handle = ReturnType<typeof setTimeout>

/** Lets a Node timer not hold the event loop open; a no-op in browsers. */
export function unref(handle: Handle | ReturnType<typeof setInterval>): void {
  ;(handle as { unref?: () => void }).unref?.()
}

/** One pending callback at a time: `set` replaces the previous one. */
export interface Later {
  set(delayMs: number, fn: () => void): void
  cancel(): void
}

/**
 * A single re-armable timer.
 *
 * @example
 * ```ts
 * const timer = later()
 * timer.set(5000, () => renew())
 * timer.cancel()
 * ```
 */
export function later(): Later {
  let handle: Handle | undefined
  const cancel = (): void => {
    if (handle !== undefined) clearTimeout(handle)
    handle = undefined
  }
  const set = (delayMs: number, fn: () => void): void => {
    cancel()
    const wait = Math.max(0, delayMs)
    handle = setTimeout(
      () => {
        handle = undefined
        if (wait > MAX_DELAY_MS) set(wait - MAX_DELAY_MS, fn)
        else fn()
      },
      Math.min(wait, MAX_DELAY_MS),
    )
    unref(handle)
  }
  return { set, cancel }
}
