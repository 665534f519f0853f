/**
 * Notices that the machine slept or the network came back. Timers do not run during sleep (on
 * some platforms their clock stops too), so the renewal timer alone would wake up late, holding
 * an expired token; this watcher lets the client renew *before* its socket reconnects.
 *
 * @module
 * @internal
 */
import { unref } from './timers.js'

const TICK_MS = 5_000
/** A tick this much later than due means the process was suspended, not merely busy. */
const SLEEP_SLACK_MS = 10_000

type Target = {
  addEventListener(type: string, fn: () => void): void
  removeEventListener(type: string, fn: () => void): void
}

/**
 * Calls `onWake` after a suspension, when the network comes back, and when a hidden page is
 * shown again. Returns the function that stops watching.
 *
 * @example
 * ```ts
 * const stop = watchWake(() => keeper.current('wake'))
 * ```
 */
export function watchWake(onWake: () => void): () => void {
  let last = Date.now()
  const tick = setInterval(() => {
    const now = Date.now()
    if (now - last > TICK_MS + SLEEP_SLACK_MS) onWake()
    last = now
  }, TICK_MS)
  unref(tick)

  const win = (globalThis as { window?: Target }).window
  const doc = (globalThis as { document?: Target & { visibilityState?: string } }).document
  const onVisible = (): void => {
    if (doc?.visibilityState === 'visible') onWake()
  }
  win?.addEventListener('online', onWake)
  doc?.addEventListener('visibilitychange', onVisible)
  return () => {
    clearInterval(tick)
    win?.removeEventListener('online', onWake)
    doc?.removeEventListener('visibilitychange', onVisible)
  }
}
