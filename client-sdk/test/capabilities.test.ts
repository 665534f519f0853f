import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { compilePattern as serverPattern } from '../../server/src/policy/pattern.js'
import { compileCapabilities, survivesStepDown } from '../src/capabilities.js'
import { compilePattern } from '../src/pattern.js'

const PATTERNS = ['*', '**', 'doc:*', '*:read', 'doc/*/v*', 'a*b*c', '*x*', 'doc/42', '', 'ab*ab']
const VALUES = ['', 'doc:read', 'doc:write', 'img:read', 'doc/42', 'doc/1/v2', 'abc', 'aXbYc', 'ab']

describe('the SDK pattern matcher', () => {
  test('answers exactly as the enforcer matcher on every pattern and value', () => {
    for (const p of PATTERNS) {
      const mine = compilePattern(p)
      const theirs = serverPattern(p)
      for (const v of VALUES) assert.equal(mine(v), theirs(v), `${p} vs ${v}`)
    }
  })
})

describe('can()', () => {
  const can = compileCapabilities({
    roles: ['editor'],
    allow: [
      { action: 'doc:*', resource: 'doc/*' },
      { action: 'img:read', resource: '*' },
    ],
    deny: [{ action: 'doc:write', resource: 'doc/secret*' }],
  })

  test('allows what an allow permission matches and no deny does', () => {
    assert.equal(can('doc:write', 'doc/42'), true)
    assert.equal(can('img:read', 'anything/at/all'), true)
  })

  test('denies what a deny matches, and what nothing allows', () => {
    assert.equal(can('doc:write', 'doc/secret-plans'), false)
    assert.equal(can('doc:read', 'doc/secret-plans'), true)
    assert.equal(can('img:write', 'img/1'), false)
  })

  test('denies everything before capabilities arrive', () => {
    assert.equal(compileCapabilities(null)('doc:read', 'doc/1'), false)
  })

  test('a step-down stops action-only requests on any removed permission of that action', () => {
    const removed = [{ action: 'doc:write', resource: 'doc/*' }]
    assert.equal(survivesStepDown('doc:write', removed, can), false)
    assert.equal(survivesStepDown('doc:read', removed, can), true)
    assert.equal(survivesStepDown({ action: 'doc:write', resource: 'doc/1' }, removed, can), true)
    assert.equal(
      survivesStepDown({ action: 'doc:write', resource: 'doc/secret' }, removed, can),
      false,
    )
  })
})
