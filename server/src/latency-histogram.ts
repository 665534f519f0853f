import type { Registry } from 'prom-client'

export interface LatencyHistogramOptions {
  name: string
  help: string
  /** The one label that splits the series (`transport`). */
  labelName: string
  /** Upper bounds in seconds, ascending. */
  buckets: readonly number[]
  registers: Registry[]
}

/** One series: per-bucket counts (not cumulative), the +Inf count, and the sum. */
interface Series {
  counts: Float64Array
  count: number
  sum: number
}

/**
 * A Prometheus histogram for the per-decision hot path. prom-client's own `observe()` validates
 * and hashes its labels on every call, which costs more than the decision it times; here an
 * observation is an array increment, and the series are handed to prom-client's registry (as a
 * metric of type `histogram`) only when it is scraped. Exposition is prom-client's.
 *
 * @example
 * ```ts
 * const latency = createLatencyHistogram({ name: 'x_seconds', help: '…', labelName: 'transport', buckets: [1e-6, 1e-3], registers: [registry] })
 * const http = latency.series('http')
 * http.observe(0.000_004)
 * ```
 */
export function createLatencyHistogram(options: LatencyHistogramOptions) {
  const { name, labelName } = options
  const bounds = [...options.buckets]
  const all = new Map<string, Series>()

  function series(label: string) {
    let s = all.get(label)
    if (!s) all.set(label, (s = { counts: new Float64Array(bounds.length), count: 0, sum: 0 }))
    const target = s
    return {
      observe(seconds: number): void {
        if (!Number.isFinite(seconds)) return
        let i = 0
        while (i < bounds.length && seconds > bounds[i]!) i++
        if (i < bounds.length) target.counts[i]! += 1
        target.count += 1
        target.sum += seconds
      },
    }
  }

  const metric = {
    name,
    help: options.help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: {
        labels: Record<string, string | number>
        value: number
        metricName: string
      }[] = []
      for (const [label, s] of all) {
        let cumulative = 0
        for (let i = 0; i < bounds.length; i++) {
          cumulative += s.counts[i]!
          values.push({
            labels: { le: bounds[i]!, [labelName]: label },
            value: cumulative,
            metricName: `${name}_bucket`,
          })
        }
        values.push({
          labels: { le: '+Inf', [labelName]: label },
          value: s.count,
          metricName: `${name}_bucket`,
        })
        values.push({ labels: { [labelName]: label }, value: s.sum, metricName: `${name}_sum` })
        values.push({ labels: { [labelName]: label }, value: s.count, metricName: `${name}_count` })
      }
      return Promise.resolve({
        name,
        help: options.help,
        type: 'histogram',
        values,
        aggregator: 'sum',
      })
    },
    reset() {
      all.clear()
    },
  }
  for (const registry of options.registers) {
    registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0])
  }
  return { series }
}
