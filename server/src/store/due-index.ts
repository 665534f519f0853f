/**
 * The expiry index behind revocation pruning: which session and token revocations may leave the
 * document when. It is a hint, never the truth — the document's own `until` decides (see
 * `pruning.ts`) — so an index entry that is stale, early or for an id that was never written costs
 * one look-up and is dropped, and nothing in it can lift a live revocation.
 *
 * @module
 */

/** `s:<session id>` or `t:<jti>`. */
export type DueMember = `s:${string}` | `t:${string}`

/** When `member` may be pruned (epoch seconds); `null` takes it out of the index. */
export interface DueItem {
  member: DueMember
  until: number | null
}

export interface DueIndex {
  /** Records (or moves, or with `until: null` removes) members. */
  put(items: readonly DueItem[]): Promise<void>
  /**
   * Up to `limit` members whose `until` is at or before `cutoffS`, earliest first. Each is moved
   * to `leaseUntilS`, so a second pruner does not take the same ones, and one that crashed
   * mid-batch hands them on once the lease runs out.
   */
  claim(cutoffS: number, limit: number, leaseUntilS: number): Promise<DueMember[]>
  /** Members held (for tests and the state benchmark). */
  size(): Promise<number>
}

/**
 * The memory store's index: a binary min-heap on `until` with lazy deletion (a moved or removed
 * member leaves its old heap slot behind, skipped when it surfaces), so every operation costs
 * O(log n) and a claim O(k log n) for the k members it takes.
 */
export function createMemoryDueIndex(): DueIndex {
  const current = new Map<DueMember, number>()
  const heap: [number, DueMember][] = []

  const less = (i: number, j: number): boolean => heap[i]![0] < heap[j]![0]
  const swap = (i: number, j: number): void => {
    const t = heap[i]!
    heap[i] = heap[j]!
    heap[j] = t
  }
  function push(until: number, member: DueMember): void {
    heap.push([until, member])
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!less(i, parent)) break
      swap(i, parent)
      i = parent
    }
  }
  function pop(): [number, DueMember] | undefined {
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    heap[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < heap.length && less(l, m)) m = l
      if (r < heap.length && less(r, m)) m = r
      if (m === i) break
      swap(i, m)
      i = m
    }
    return top
  }

  function set(member: DueMember, until: number | null): void {
    if (until === null) current.delete(member)
    else if (current.get(member) !== until) {
      current.set(member, until)
      push(until, member)
    }
  }

  return {
    put(items) {
      for (const { member, until } of items) set(member, until)
      return Promise.resolve()
    },
    claim(cutoffS, limit, leaseUntilS) {
      const out: DueMember[] = []
      while (out.length < limit && heap.length > 0 && heap[0]![0] <= cutoffS) {
        const [until, member] = pop()!
        if (current.get(member) !== until) continue // moved or removed since: a stale slot
        out.push(member)
      }
      for (const member of out) set(member, leaseUntilS)
      return Promise.resolve(out)
    },
    size: () => Promise.resolve(current.size),
  }
}
