import { performance } from 'node:perf_hooks'

/** A monotonic clock that stands still while this process's event loop is blocked. */
export interface ListeningClock {
  /** Milliseconds of unblocked time since an arbitrary origin; never decreases. */
  now(): number
  stop(): void
}

/** How often the ticker runs, ms. A gap under two ticks is scheduling jitter, not a block. */
const TICK_MS = 25

/**
 * A monotonic clock that stands still while this process's event loop is blocked.
 *
 * The store's answers reach the node only when its loop runs. After the loop was blocked for a
 * few seconds (a heavy request, a long GC, a debugger), the tail's answer is waiting in the
 * socket, but a request handled before it would see "no contact for seconds" and deny with
 * `policy_stale` while the store was healthy all along. Staleness is therefore measured on this
 * clock: only time during which the node could have heard from the store counts. A store that is
 * really gone still trips the bound, after that much time of a free loop.
 *
 * A ticker notes how late it runs; lateness beyond one tick is time the loop was blocked. A
 * block still in progress — the loop has just come back and a request runs before the ticker
 * does — is counted too, from the ticker's last run.
 *
 * @example
 * ```ts
 * const clock = createListeningClock()
 * let heard = clock.now()
 * onContact(() => (heard = clock.now()))
 * const stale = clock.now() - heard > maxStalenessMs
 * ```
 */
export function createListeningClock(): ListeningClock {
  let lastTick = performance.now()
  let blocked = 0

  /** The part of a gap since the last tick that was a block. */
  const blockIn = (gap: number): number => (gap > 2 * TICK_MS ? gap - TICK_MS : 0)

  const ticker = setInterval(() => {
    const t = performance.now()
    blocked += blockIn(t - lastTick)
    lastTick = t
  }, TICK_MS)
  ticker.unref()

  let last = 0
  return {
    now() {
      const t = performance.now()
      const reading = t - blocked - blockIn(t - lastTick)
      // A block ending moves its time from "in progress" to "counted" with a tick's rounding.
      last = Math.max(last, reading)
      return last
    },
    stop: () => clearInterval(ticker),
  }
}
