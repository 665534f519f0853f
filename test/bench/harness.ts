/** Shared shapes and helpers for `npm run bench`. Each bench module exports `bench(opts)`. */

export interface BenchOptions {
  /** `npm run bench -- --quick`: smaller workloads, the whole run under two minutes. */
  quick: boolean
}

/** One figure. `key` is the stable name in `test/bench/results.json` (e.g. `decide.p50_us`). */
export interface BenchRow {
  key: string
  value: number
  unit: string
  note?: string
}

export type Bench = (opts: BenchOptions) => Promise<BenchRow[]>

/** The q-quantile (0..1) of already-sorted numbers, nearest-rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i]!
}

/** Rounds to `digits` decimals, for readable JSON. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
