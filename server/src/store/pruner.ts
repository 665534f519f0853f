import type { Logger } from 'pino'
import type { PolicyStore, PruneOptions } from './types.js'

export interface PrunerOptions {
  store: PolicyStore
  logger: Logger
  /** How often the node prunes. @default 60_000 */
  intervalMs?: number
  /** Batches per round at most, so a backlog drains without holding the store. @default 20 */
  maxBatches?: number
  /** Passed to `store.prune` (grace past `until`, batch size). */
  prune?: PruneOptions
  /** A round is skipped while this says the node cannot trust the store (lost state, stale). */
  paused?: () => boolean
  /** Milliseconds since epoch. @default Date.now */
  now?: () => number
}

export interface Pruner {
  /** One round now: batches until nothing more is due (or `maxBatches`). */
  runOnce(): Promise<{ revocations: number; families: number }>
  stop(): void
}

/**
 * Runs `store.prune` on every node every minute. Nodes do not coordinate: each claims its own
 * batches from the store's expiry index, so two never drop the same revocation, and a round that
 * finds nothing due costs one cheap read. It never runs while the node fails closed, so it cannot
 * write into a store whose history the node no longer trusts.
 *
 * @example
 * ```ts
 * const pruner = startPruner({ store, logger: logger.child({ module: 'pruner' }) })
 * await pruner.runOnce()
 * pruner.stop()
 * ```
 */
export function startPruner(options: PrunerOptions): Pruner {
  const { store, logger } = options
  const intervalMs = options.intervalMs ?? 60_000
  const maxBatches = options.maxBatches ?? 20
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new TypeError('intervalMs must be > 0')
  const now = options.now ?? Date.now
  let running: Promise<{ revocations: number; families: number }> | null = null
  let failing = false

  async function round(): Promise<{ revocations: number; families: number }> {
    const total = { revocations: 0, families: 0 }
    if (options.paused?.()) return total
    for (let batch = 0; batch < maxBatches; batch++) {
      const r = await store.prune(now(), options.prune)
      total.revocations += r.revocations
      total.families += r.families
      if (!r.more) break
    }
    if (total.revocations + total.families > 0) {
      logger.info(total, 'pruned revocations and refresh families that no token can use any more')
    }
    return total
  }

  function runOnce(): Promise<{ revocations: number; families: number }> {
    running ??= round()
      .then((total) => {
        if (failing) logger.info('pruning works again')
        failing = false
        return total
      })
      .catch((err: unknown) => {
        // Said once per outage: the store being away is reported by the policy tail already.
        if (!failing) logger.warn({ err }, 'pruning failed; retrying next round')
        failing = true
        return { revocations: 0, families: 0 }
      })
      .finally(() => {
        running = null
      })
    return running
  }

  const timer = setInterval(() => void runOnce(), intervalMs)
  timer.unref()
  return {
    runOnce,
    stop: () => clearInterval(timer),
  }
}
