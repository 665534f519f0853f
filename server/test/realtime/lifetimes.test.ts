import assert from 'node:assert/strict'
import { afterEach, beforeEach, mock, test } from 'node:test'
import { createLifetimes } from '../../src/realtime/lifetime.js'

const START_S = 1_800_000_000

interface Fired {
  kind: 'expiring' | 'expired'
  id: string
  exp: number
  at: number
}

function recorder(options: { leadS: number; graceS: number }) {
  const fired: Fired[] = []
  const lifetimes = createLifetimes({
    ...options,
    onExpiring: (id, exp) => fired.push({ kind: 'expiring', id, exp, at: Date.now() }),
    onExpired: (id, exp) => fired.push({ kind: 'expired', id, exp, at: Date.now() }),
  })
  return { fired, lifetimes }
}

/** Advances the mocked clock in steps, so every due timer fires at its own time. */
function advance(ms: number, step = 100): void {
  for (let done = 0; done < ms; done += step) mock.timers.tick(step)
}

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START_S * 1000 }))
afterEach(() => mock.timers.reset())

test('each of many sockets is warned ahead of exp and expired after the grace, on time', () => {
  const { fired, lifetimes } = recorder({ leadS: 30, graceS: 5 })
  const sockets = Array.from({ length: 300 }, (_, i) => {
    const lifetime = 20 + ((i * 37) % 300)
    return { id: `s${i}`, iat: START_S, exp: START_S + lifetime }
  })
  for (const s of [...sockets].reverse()) lifetimes.schedule(s.id, s.iat, s.exp)
  assert.equal(lifetimes.size, 300)
  advance(400_000, 250)

  assert.equal(fired.length, 600)
  for (const s of sockets) {
    const mine = fired.filter((f) => f.id === s.id)
    assert.deepEqual(
      mine.map((f) => f.kind),
      ['expiring', 'expired'],
    )
    const lead = Math.min(30, (s.exp - s.iat) / 2)
    const warnAt = (s.exp - lead) * 1000
    assert.ok(mine[0]!.at >= warnAt && mine[0]!.at < warnAt + 250, 'warned at exp - lead')
    assert.ok(mine[1]!.at >= (s.exp + 5) * 1000, 'expired only after the grace')
    assert.ok(mine.every((f) => f.exp === s.exp))
  }
  assert.deepEqual(
    fired.map((f) => f.at),
    [...fired.map((f) => f.at)].sort((a, b) => a - b),
    'in time order',
  )
  assert.equal(lifetimes.size, 0)
})

test('rescheduling with a fresh token replaces the old deadlines; cancelling drops them', () => {
  const { fired, lifetimes } = recorder({ leadS: 10, graceS: 2 })
  lifetimes.schedule('refreshed', START_S, START_S + 60)
  lifetimes.schedule('gone', START_S, START_S + 60)
  lifetimes.schedule('stays', START_S, START_S + 60)
  advance(55_000)
  // Deadlines due at the same time may fire in any order.
  assert.deepEqual(fired.map((f) => `${f.kind} ${f.id}`).sort(), [
    'expiring gone',
    'expiring refreshed',
    'expiring stays',
  ])
  lifetimes.schedule('refreshed', START_S + 55, START_S + 115)
  lifetimes.cancel('gone')
  advance(60_000)
  assert.deepEqual(
    fired.slice(3).map((f) => `${f.kind} ${f.id} ${f.exp - START_S}`),
    ['expired stays 60', 'expiring refreshed 115'],
  )
  assert.equal(lifetimes.size, 1)
  lifetimes.cancel('refreshed')
  assert.equal(lifetimes.size, 0)
})

test('a warning already due goes out at once; a token without exp is never expired', () => {
  const { fired, lifetimes } = recorder({ leadS: 30, graceS: 5 })
  lifetimes.schedule('late', START_S - 100, START_S + 10)
  lifetimes.schedule('forever', START_S, undefined)
  advance(100)
  assert.deepEqual(
    fired.map((f) => `${f.kind} ${f.id}`),
    ['expiring late'],
  )
  advance(20_000)
  assert.deepEqual(
    fired.map((f) => `${f.kind} ${f.id}`),
    ['expiring late', 'expired late'],
  )
  assert.equal(lifetimes.size, 0)
})
