import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createMetrics } from '../src/metrics.js'

const sources = {
  policyVersion: () => 7,
  sinceContactMs: () => 120,
  stale: () => false,
  liveSessions: () => 3,
}

/** The sample lines of one metric family, label order as written. */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(name))
}

test('decisions are counted by transport and result', async () => {
  const metrics = createMetrics(sources, 'node-a')
  metrics.decision('http', 'allow', 3)
  metrics.decision('http', 'allow', 4)
  metrics.decision('http', 'forbidden', 5)
  metrics.decision('socket', 'allow', 6)
  const text = await metrics.registry.metrics()
  assert.deepEqual(samples(text, 'vigil_decisions_total{').sort(), [
    'vigil_decisions_total{transport="http",result="allow",node="node-a"} 2',
    'vigil_decisions_total{transport="http",result="forbidden",node="node-a"} 1',
    'vigil_decisions_total{transport="socket",result="allow",node="node-a"} 1',
  ])
  // Counts carry over between scrapes.
  metrics.decision('http', 'allow', 3)
  assert.match(
    await metrics.registry.metrics(),
    /^vigil_decisions_total\{transport="http",result="allow",node="node-a"\} 3$/m,
  )
})

test('decision latency is a Prometheus histogram per transport, cumulative buckets', async () => {
  const metrics = createMetrics(sources, 'node-a')
  for (const us of [0.5, 3, 3, 40, 20_000]) metrics.decision('http', 'allow', us)
  metrics.decision('socket', 'allow', 2)
  const text = await metrics.registry.metrics()
  assert.match(text, /^# TYPE vigil_decision_duration_seconds histogram$/m)
  const http = samples(text, 'vigil_decision_duration_seconds').filter((l) =>
    l.includes('transport="http"'),
  )
  const value = (le: string): number => {
    const line = http.find((l) => l.includes(`le="${le}"`))
    assert.ok(line, `a bucket le=${le}`)
    return Number(line.split(' ').at(-1))
  }
  assert.equal(value('0.000001'), 1)
  assert.equal(value('0.000005'), 3)
  assert.equal(value('0.00005'), 4)
  assert.equal(value('0.01'), 4)
  assert.equal(value('+Inf'), 5)
  const count = http.find((l) => l.startsWith('vigil_decision_duration_seconds_count'))
  assert.equal(count, 'vigil_decision_duration_seconds_count{transport="http",node="node-a"} 5')
  const sum = http.find((l) => l.startsWith('vigil_decision_duration_seconds_sum'))
  assert.ok(sum)
  assert.ok(Math.abs(Number(sum.split(' ')[1]) - 0.0200465) < 1e-9, sum)
  assert.match(
    text,
    /^vigil_decision_duration_seconds_count\{transport="socket",node="node-a"\} 1$/m,
  )
})
