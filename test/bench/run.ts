/**
 * `npm run bench [-- --quick] [-- --only decide,verify]`: runs every benchmark, prints a table and
 * writes `test/bench/results.json`. Figures with a bare baseline are ratios measured in the same
 * run, so a noisy shared machine moves both sides together.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import type { Bench, BenchRow } from './harness.js'

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } },
  allowPositionals: false,
})

const benches: Record<string, () => Promise<{ bench: Bench }>> = {
  decide: () => import('./decide.js'),
  verify: () => import('./verify.js'),
  http: () => import('./http.js'),
  socket: () => import('./socket.js'),
  revoke: () => import('./revoke.js'),
  decisions: () => import('./decisions.js'),
  sdk: () => import('./sdk.js'),
  failover: () => import('./failover.js'),
  'store-loss': () => import('./store-loss.js'),
  state: () => import('./state.js'),
  scale: () => import('./scale.js'),
}

const selected = values.only ? values.only.split(',') : Object.keys(benches)
const rows: BenchRow[] = []
for (const name of selected) {
  const load = benches[name]
  if (!load) throw new Error(`unknown bench "${name}"; have ${Object.keys(benches).join(', ')}`)
  const started = Date.now()
  const { bench } = await load()
  rows.push(...(await bench({ quick: values.quick })))
  process.stderr.write(`bench ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
}

const width = Math.max(...rows.map((r) => r.key.length))
console.log(`${'key'.padEnd(width)}  ${'value'.padStart(12)}  unit   note`)
for (const r of rows) {
  console.log(
    `${r.key.padEnd(width)}  ${String(r.value).padStart(12)}  ${r.unit.padEnd(5)}  ${r.note ?? ''}`,
  )
}

// A partial run (--only) updates its own figures and keeps the others from earlier runs.
const file = new URL('./results.json', import.meta.url)
const previous = values.only
  ? ((JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as { rows?: BenchRow[] }).rows ??
    [])
  : []
const fresh = new Set(rows.map((r) => r.key))
rows.unshift(...previous.filter((r) => !fresh.has(r.key)))

const results = {
  date: new Date().toISOString(),
  quick: values.quick,
  node: process.version,
  cpus: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  figures: Object.fromEntries(rows.map((r) => [r.key, r.value])),
  rows,
}
await writeFile(file, JSON.stringify(results, null, 2) + '\n')
