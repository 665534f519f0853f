import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createDeliveryLedger } from '../src/service-ledger.js'
import { createWatchSet, targetKey } from '../src/service-watch.js'

test('one version may carry events for several targets, each delivered once', () => {
  const ledger = createDeliveryLedger(undefined)
  assert.equal(ledger.lastVersion, undefined)
  assert.equal(ledger.admit(5, 'step-down:subject:alice'), true)
  assert.equal(ledger.admit(5, 'step-down:subject:bob'), true)
  assert.equal(ledger.admit(5, 'step-down:subject:alice'), false)
  assert.equal(ledger.lastVersion, 5)
})

test('an event older than one already delivered or confirmed is a duplicate', () => {
  const ledger = createDeliveryLedger(3)
  assert.equal(ledger.lastVersion, 3)
  assert.equal(ledger.admit(3, 'revoked:subject:alice'), false)
  assert.equal(ledger.admit(7, 'revoked:subject:alice'), true)
  assert.equal(ledger.admit(6, 'revoked:session:s1'), false)
  ledger.confirm(9)
  assert.equal(ledger.lastVersion, 9)
  assert.equal(ledger.admit(8, 'revoked:session:s2'), false)
  assert.equal(ledger.admit(10, 'revoked:session:s2'), true)
})

test('a confirmation never moves the resume version backwards', () => {
  const ledger = createDeliveryLedger(undefined)
  ledger.admit(12, 'revoked:subject:alice')
  ledger.confirm(4)
  assert.equal(ledger.lastVersion, 12)
})

test('a watch set counts references, so one unwatch does not end another watcher', () => {
  const set = createWatchSet()
  set.add({ subjects: ['alice'], sessions: ['s1'] })
  set.add({ subjects: ['alice', 'bob'] })
  set.remove({ subjects: ['alice'], sessions: ['s1'] })
  assert.deepEqual(set.payload(), { subjects: ['alice', 'bob'] })
  const revoked = { version: 1, at: 0, reason: 'r', subject: 'alice' }
  assert.equal(set.matches(revoked), true)
  assert.equal(set.matches({ version: 1, at: 0, reason: 'r', session: 's1' }), false)
  assert.equal(set.matches({ version: 1, at: 0, reason: 'r', jti: 'j' }), false)
  set.add({ all: true })
  assert.equal(set.matches({ version: 1, at: 0, reason: 'r', jti: 'j' }), true)
  assert.equal(targetKey('revoked', revoked), 'revoked:subject:alice')
})
