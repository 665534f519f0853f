import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { createLatencyHistogram } from './latency-histogram.js'
import type { StoreHealth } from './store/store-health.js'

export interface MetricsSources {
  policyVersion: () => number
  sinceContactMs: () => number
  stale: () => boolean
  /** True while the node fails closed because the store lost acknowledged state. */
  storeReset?: () => boolean
  liveSessions: () => number
  /** The store connection: up now, outages so far, changes `WAIT` did not confirm in time. */
  storeHealth?: Pick<StoreHealth, 'up' | 'outages' | 'unconfirmedWrites'>
}

export interface Metrics {
  registry: Registry
  /** Counts one decision; `result` is `allow` or the denial code. */
  decision(transport: string, result: string, durationUs: number): void
  /** The time between a change's write to the store and its application on this node. */
  applyLag(ms: number): void
  /** Counts a denial because the node could not know the current policy. */
  staleDenial(transport: string): void
  /** Counts an exception thrown by an app's handler, caught so it cannot end the process. */
  handlerError(transport: string): void
  /** Counts a store found emptied, rolled back or diverged. */
  storeLoss(reason: string): void
  /** Counts a way out of `store_reset`: converged to the store, or restored it. */
  storeRecovered(how: string): void
}

/**
 * Prometheus metrics of one enforcer node, on a registry of its own (so several enforcers can
 * live in one process, as in tests). Gauges are read at scrape time from live sources.
 *
 * @example
 * ```ts
 * const metrics = createMetrics({ policyVersion: () => live.current().version, ... })
 * app.get('/metrics', async (_req, res) => res.type(metrics.registry.contentType).send(await metrics.registry.metrics()))
 * ```
 */
export function createMetrics(sources: MetricsSources, nodeId: string): Metrics {
  const registry = new Registry()
  registry.setDefaultLabels({ node: nodeId })
  collectDefaultMetrics({ register: registry })
  // Decisions are counted in plain numbers and handed to prom-client when it is scraped: its
  // `inc()` (label validation and hashing) costs more than the count itself, once per message.
  type Count = { labels: { transport: string; result: string }; n: number }
  // transport → its counts by result and its latency series: one lookup per decision, no key
  // built per decision.
  type PerTransport = { counts: Map<string, Count>; latency: { observe(seconds: number): void } }
  const perTransport = new Map<string, PerTransport>()
  new Counter({
    name: 'vigil_decisions_total',
    help: 'Decisions by transport and result (allow, or the denial code).',
    labelNames: ['transport', 'result'],
    registers: [registry],
    collect() {
      for (const mine of perTransport.values()) {
        for (const count of mine.counts.values()) {
          if (count.n === 0) continue
          this.inc(count.labels, count.n)
          count.n = 0
        }
      }
    },
  })
  const latency = createLatencyHistogram({
    name: 'vigil_decision_duration_seconds',
    help: 'Time to decide one request or message, token check included.',
    labelName: 'transport',
    buckets: [1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2],
    registers: [registry],
  })
  const lag = new Histogram({
    name: 'vigil_policy_apply_lag_seconds',
    help: 'From a change being written to the store to this node applying it.',
    buckets: [1e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.5, 1, 5],
    registers: [registry],
  })
  const stale = new Counter({
    name: 'vigil_policy_stale_denials_total',
    help: 'Denials because this node had not heard from the store within the staleness bound.',
    labelNames: ['transport'],
    registers: [registry],
  })
  const handlerErrors = new Counter({
    name: 'vigil_handler_errors_total',
    help: "Exceptions thrown by the app's handlers, caught so they cannot end the process.",
    labelNames: ['transport'],
    registers: [registry],
  })
  for (const transport of ['http', 'socket']) handlerErrors.inc({ transport }, 0)
  const losses = new Counter({
    name: 'vigil_store_losses_total',
    help: 'Times this node found the store emptied, rolled back or diverged (store_reset).',
    labelNames: ['reason'],
    registers: [registry],
  })
  for (const reason of ['epoch_missing', 'epoch_changed', 'version_back', 'chain_broken']) {
    losses.inc({ reason }, 0)
  }
  const recoveries = new Counter({
    name: 'vigil_store_recoveries_total',
    help: 'Ways out of store_reset: converged to the store, or restored what it lost.',
    labelNames: ['how'],
    registers: [registry],
  })
  for (const how of ['converged', 'restored']) recoveries.inc({ how }, 0)
  new Gauge({
    name: 'vigil_store_reset',
    help: '1 while this node denies everything because the store lost acknowledged state.',
    registers: [registry],
    collect() {
      this.set(sources.storeReset?.() ? 1 : 0)
    },
  })
  new Gauge({
    name: 'vigil_policy_version',
    help: 'The policy version this node decides with.',
    registers: [registry],
    collect() {
      this.set(sources.policyVersion())
    },
  })
  new Gauge({
    name: 'vigil_store_last_contact_seconds',
    help: 'Seconds since the store last answered this node.',
    registers: [registry],
    collect() {
      this.set(sources.sinceContactMs() / 1000)
    },
  })
  new Gauge({
    name: 'vigil_policy_stale',
    help: '1 while this node fails closed because its policy may be stale.',
    registers: [registry],
    collect() {
      this.set(sources.stale() ? 1 : 0)
    },
  })
  new Gauge({
    name: 'vigil_live_sessions',
    help: 'Live sessions (connected sockets) on this node.',
    registers: [registry],
    collect() {
      this.set(sources.liveSessions())
    },
  })
  const health = sources.storeHealth
  if (health) {
    new Gauge({
      name: 'vigil_store_up',
      help: "1 while this node's connection to the store is up (0 during an outage or failover).",
      registers: [registry],
      collect() {
        this.set(health.up() ? 1 : 0)
      },
    })
    // Counted by the store's connection as it happens; handed over at scrape time.
    const counted = (name: string, help: string, read: () => number): void => {
      let reported = 0
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          const now = read()
          this.inc(now - reported)
          reported = now
        },
      })
    }
    counted(
      'vigil_store_outages_total',
      "Times this node's connection to the store went down.",
      health.outages,
    )
    counted(
      'vigil_store_unconfirmed_writes_total',
      'Changes committed on the primary but not confirmed by VIGIL_REDIS_WAIT_REPLICAS replicas in time (answered store_unavailable, applied: true).',
      health.unconfirmedWrites,
    )
  }
  return {
    registry,
    decision(transport, result, durationUs) {
      let mine = perTransport.get(transport)
      if (!mine) {
        mine = { counts: new Map(), latency: latency.series(transport) }
        perTransport.set(transport, mine)
      }
      let count = mine.counts.get(result)
      if (!count) mine.counts.set(result, (count = { labels: { transport, result }, n: 0 }))
      count.n += 1
      mine.latency.observe(durationUs / 1e6)
    },
    applyLag: (ms) => lag.observe(ms / 1000),
    staleDenial: (transport) => stale.inc({ transport }),
    handlerError: (transport) => handlerErrors.inc({ transport }),
    storeLoss: (reason) => losses.inc({ reason }),
    storeRecovered: (how) => recoveries.inc({ how }),
  }
}
