/**
 * `scale`: what a policy change costs as the document grows (issue #14). In-process apply cost
 * at 1k → 10k → 100k → 1M subjects (and a fifth as many revoked sessions), plotted to
 * docs/scale-apply.png; then, on real nodes and Redis, import rate, revocation latency and a new
 * node's start for a 1k and a 1M policy in the same run. `--quick` stops at 100k.
 */
import { type Bench, type BenchRow, round } from './harness.js'
import { lineChart, renderPng } from './plot.js'
import { measureApply } from './scale-apply.js'
import { scaleRun } from './scale-e2e.js'

const PLOT = new URL('../../docs/scale-apply.png', import.meta.url)
const label = (n: number): string => (n >= 1e6 ? `${n / 1e6}m` : `${n / 1e3}k`)

export const bench: Bench = async ({ quick }) => {
  const large = quick ? 100_000 : 1_000_000
  const sizes = quick ? [1_000, 10_000, 100_000] : [1_000, 10_000, 100_000, 1_000_000]
  const rows: BenchRow[] = []
  const costs = sizes.map((n) => ({ n, ...measureApply(n) }))
  for (const { n, nodeUs, writeUs } of costs) {
    rows.push({
      key: `scale.apply_us_${label(n)}`,
      value: round(nodeUs, 2),
      unit: 'µs',
      note: `per change on a node (apply + compile + affected), ${n.toLocaleString('en-US')} subjects; writer ${round(writeUs, 2)} µs (+ validation + patch)`,
    })
  }
  const small = costs[0]!
  const big = costs.at(-1)!
  rows.push({
    key: `scale.apply_ratio`,
    value: round(big.nodeUs / small.nodeUs, 2),
    unit: '×',
    note: `${label(big.n)} ÷ 1k, same run (target ≤ 2)`,
  })
  await renderPng(
    lineChart(
      'Cost of one policy change against policy size',
      'bound subjects (log scale; a fifth as many revoked sessions)',
      'µs per change (median)',
      [
        {
          name: 'node apply',
          color: '#1f77b4',
          points: costs.map((c) => ({ x: c.n, y: c.nodeUs })),
        },
        { name: 'writer', color: '#ff7f0e', points: costs.map((c) => ({ x: c.n, y: c.writeUs })) },
      ],
    ),
    PLOT,
  )

  const base = await scaleRun(1_000)
  const run = await scaleRun(large)
  const k = label(large)
  rows.push(
    {
      key: `scale.seed_changes_per_s`,
      value: Math.round(run.seedPerS),
      unit: '/s',
      note: `${(large * 1.2).toLocaleString('en-US')} changes through POST /v1/policy/changes, batches of 10,000 (target ≥ 50,000)`,
    },
    {
      key: `scale.revoke_p50_ms_${k}`,
      value: round(run.revokeP50, 2),
      unit: 'ms',
      note: `API call → vigil:revoked, ${label(large)} subjects; 1k: ${round(base.revokeP50, 2)}`,
    },
    {
      key: `scale.revoke_p99_ms_${k}`,
      value: round(run.revokeP99, 2),
      unit: 'ms',
      note: `target ≤ 20; 1k: ${round(base.revokeP99, 2)}`,
    },
    {
      key: 'scale.revoke_ratio',
      value: round(run.revokeP50 / base.revokeP50, 2),
      unit: '×',
      note: `p50 with ${k} ÷ p50 with 1k, same run (target ≤ 1.5); p99 ratio ${round(run.revokeP99 / base.revokeP99, 2)}`,
    },
    {
      key: `scale.start_ms_${k}`,
      value: Math.round(run.startMs),
      unit: 'ms',
      note: `spawn → /readyz 200 joining a store of ${label(large)} subjects + ${label(large / 5)} revoked sessions (target ≤ 10,000); 1k: ${Math.round(base.startMs)}`,
    },
    {
      key: `scale.rss_mb_${k}`,
      value: Math.round(run.rssMb),
      unit: 'MB',
      note: `that node's RSS once ready; 1k: ${Math.round(base.rssMb)}`,
    },
  )
  return rows
}
