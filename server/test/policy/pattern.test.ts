import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compileAnyPattern, compilePattern, matchPattern } from '../../src/policy/pattern.js'

const table: [pattern: string, value: string, matches: boolean][] = [
  ['doc:read', 'doc:read', true],
  ['doc:read', 'doc:reads', false],
  ['doc:read', 'doc:rea', false],
  ['doc/*', 'doc/42', true],
  ['doc/*', 'doc/', true],
  ['doc/*', 'doc', false],
  ['doc/*', 'doc/a/b:c', true],
  ['*:read', 'doc:read', true],
  ['*:read', ':read', true],
  ['*:read', 'doc:reader', false],
  ['report/*/summary', 'report/2024/summary', true],
  ['report/*/summary', 'report//summary', true],
  ['report/*/summary', 'report/summary', false],
  ['ab*ba', 'aba', false],
  ['ab*ba', 'abba', true],
  ['*secret*', 'doc/secret/x', true],
  ['*secret*', 'doc/secre/x', false],
  ['a*b*c', 'abc', true],
  ['a*b*c', 'aXbYc', true],
  ['a*b*c', 'acb', false],
  ['a*b*c*d', 'a-b-c-b-c-d', true],
  ['a*bc*cd', 'abcd', false],
  ['*a*a*', 'aa', true],
  ['*a*a*', 'ba', false],
  ['**', '', true],
  ['*', 'anything/at:all', true],
  ['x**y', 'xy', true],
  ['a.b', 'aXb', false],
  ['x+(y)[0]', 'x+(y)[0]', true],
  ['^$*', '^$anything', true],
]

for (const [pattern, value, matches] of table) {
  test(`pattern ${JSON.stringify(pattern)} ${matches ? 'matches' : 'does not match'} ${JSON.stringify(value)}`, () => {
    assert.equal(compilePattern(pattern)(value), matches)
    assert.equal(matchPattern(pattern, value), matches)
  })
}

test('a pattern of many stars against a huge non-matching input answers without backtracking', () => {
  const pattern = `${'a*'.repeat(200)}b`
  const value = 'a'.repeat(200_000)
  assert.equal(compilePattern(pattern)(value), false)
})

test('several patterns match when any of them matches', () => {
  const any = compileAnyPattern(['doc/1', 'doc/2', 'img/*', '*.png'])
  assert.equal(any('doc/2'), true)
  assert.equal(any('img/cat'), true)
  assert.equal(any('x/cat.png'), true)
  assert.equal(any('doc/3'), false)
  assert.equal(compileAnyPattern(['a', '*'])('zzz'), true)
  assert.equal(compileAnyPattern(['a', 'a'])('a'), true)
})
