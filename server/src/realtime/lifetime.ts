export interface LifetimeOptions {
  /** `onExpiring` this long before `exp`, capped at half the token's lifetime. */
  leadS: number
  /** `onExpired` this long after `exp`. */
  graceS: number
  /** Time to warn the socket: `vigil:expiring`, so the client refreshes in place. */
  onExpiring(id: string, exp: number): void
  /** The token expired and was not replaced: `vigil:expired`, then disconnect. */
  onExpired(id: string, exp: number): void
}

/** One socket's next deadline: first the warning, then the expiry. */
interface Deadline {
  id: string
  exp: number
  /** Epoch ms at which it is due. */
  at: number
  stage: 'expiring' | 'expired'
  /** Its position in the heap, so a refresh or a disconnect can take it out in O(log n). */
  index: number
}

/** The longest delay `setTimeout` honours (a longer one fires at once). */
const MAX_DELAY_MS = 2 ** 31 - 1

/**
 * The access-token lifetimes of every live socket, on one timer: a min-heap of deadlines keyed
 * by socket id, instead of two timers per socket. Each socket gets `onExpiring` ahead of `exp`
 * and — unless it is rescheduled with a fresh token first — `onExpired` after a short grace,
 * which a client can tell apart from a revocation.
 *
 * @example
 * ```ts
 * const lifetimes = createLifetimes({ leadS: 30, graceS: 5, onExpiring: warn, onExpired: close })
 * lifetimes.schedule(socket.id, principal.iat, principal.exp)
 * socket.on('disconnect', () => lifetimes.cancel(socket.id))
 * ```
 */
export function createLifetimes(options: LifetimeOptions) {
  const heap: Deadline[] = []
  const byId = new Map<string, Deadline>()
  let timer: NodeJS.Timeout | undefined
  let timerAt = Infinity

  const expiredAt = (exp: number): number => (exp + options.graceS) * 1000

  function swap(i: number, j: number): void {
    const a = heap[i]!
    const b = heap[j]!
    heap[i] = b
    heap[j] = a
    b.index = i
    a.index = j
  }

  function up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent]!.at <= heap[i]!.at) return
      swap(i, parent)
      i = parent
    }
  }

  function down(i: number): void {
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let least = i
      if (left < heap.length && heap[left]!.at < heap[least]!.at) least = left
      if (right < heap.length && heap[right]!.at < heap[least]!.at) least = right
      if (least === i) return
      swap(i, least)
      i = least
    }
  }

  function remove(d: Deadline): void {
    const last = heap.pop()!
    if (last !== d) {
      heap[d.index] = last
      last.index = d.index
      up(last.index)
      down(last.index)
    }
    byId.delete(d.id)
  }

  /** Arms the one timer for the earliest deadline, unless it already fires by then. */
  function arm(): void {
    const first = heap[0]
    if (first === undefined) {
      clearTimeout(timer)
      timer = undefined
      timerAt = Infinity
      return
    }
    if (timer !== undefined && timerAt <= first.at) return
    clearTimeout(timer)
    timerAt = first.at
    timer = setTimeout(fire, Math.min(Math.max(0, first.at - Date.now()), MAX_DELAY_MS))
    // Like the sockets' own timers would be: a pending expiry never keeps the process alive.
    timer.unref()
  }

  function fire(): void {
    timer = undefined
    timerAt = Infinity
    const now = Date.now()
    for (let d = heap[0]; d !== undefined && d.at <= now; d = heap[0]) {
      if (d.stage === 'expiring') {
        d.stage = 'expired'
        d.at = expiredAt(d.exp)
        down(0)
        options.onExpiring(d.id, d.exp)
      } else {
        remove(d)
        options.onExpired(d.id, d.exp)
      }
    }
    arm()
  }

  function cancel(id: string): void {
    const d = byId.get(id)
    if (d !== undefined) remove(d)
  }

  return {
    /** (Re)schedules socket `id` for a token valid from `iat` until `exp` (epoch seconds). */
    schedule(id: string, iat: number | undefined, exp: number | undefined): void {
      cancel(id)
      if (exp !== undefined) {
        const lifetime = iat === undefined ? options.leadS * 2 : exp - iat
        const lead = Math.min(options.leadS, lifetime / 2)
        const warnAt = exp * 1000 - lead * 1000
        // A warning due after the expiry itself would never be seen: the socket is gone by then.
        const d: Deadline =
          warnAt <= expiredAt(exp)
            ? { id, exp, at: warnAt, stage: 'expiring', index: heap.length }
            : { id, exp, at: expiredAt(exp), stage: 'expired', index: heap.length }
        heap.push(d)
        byId.set(id, d)
        up(d.index)
      }
      arm()
    },
    /** Forgets socket `id` (it disconnected). */
    cancel(id: string): void {
      cancel(id)
      arm()
    },
    /** Sockets with a deadline pending. */
    get size(): number {
      return heap.length
    },
  }
}

export type Lifetimes = ReturnType<typeof createLifetimes>
