import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Capabilities } from '@vigil-enforcer/client/protocol'
import type { Affected } from '../../src/policy/affected.js'
import { createSessionRegistry, type LiveEntry } from '../../src/sessions/registry.js'

const EDITOR: Capabilities = {
  roles: ['editor'],
  allow: [{ action: 'doc:write', resource: 'doc/*' }],
  deny: [],
}

function entry(id: string, sub: string, sid: string, jti: string, roles = ['editor']): LiveEntry {
  return {
    id,
    principal: { sub, sid, jti, claims: {} },
    keys: [sub],
    roles: [...roles],
    // A fresh copy each time, as the policy computes it per principal.
    capabilities: structuredClone({ ...EDITOR, roles: [...roles] }),
    connectedAt: 0,
  }
}

const only = (parts: Partial<Extract<Affected, { all: false }>>): Affected => ({
  all: false,
  principals: [],
  roles: [],
  sessions: [],
  jtis: [],
  ...parts,
})

const ids = (entries: Iterable<LiveEntry>): string[] => [...entries].map((e) => e.id).sort()

test('a key shared by two tabs finds both, and the remaining one after the other leaves', () => {
  const registry = createSessionRegistry()
  registry.add(entry('tab-1', 'alice', 'sid-a', 'jti-a'))
  registry.add(entry('tab-2', 'alice', 'sid-a', 'jti-a'))
  registry.add(entry('other', 'bob', 'sid-b', 'jti-b'))
  assert.deepEqual(ids(registry.select(only({ principals: ['alice'] }))), ['tab-1', 'tab-2'])
  assert.deepEqual(ids(registry.ofSession('sid-a')), ['tab-1', 'tab-2'])

  registry.remove('tab-1')
  assert.deepEqual(ids(registry.select(only({ sessions: ['sid-a'] }))), ['tab-2'])
  assert.deepEqual(ids(registry.select(only({ jtis: ['jti-a'] }))), ['tab-2'])
  assert.deepEqual(ids(registry.select(only({ roles: ['editor'] }))), ['other', 'tab-2'])

  registry.remove('tab-2')
  assert.deepEqual(ids(registry.select(only({ principals: ['alice'], sessions: ['sid-a'] }))), [])
  assert.deepEqual(ids(registry.ofSession('sid-a')), [])
  assert.equal(registry.size, 1)
})

test('a refreshed token is found by its new jti only, and a role change moves the role index', () => {
  const registry = createSessionRegistry()
  const e = entry('tab', 'alice', 'sid-a', 'jti-old')
  registry.add(e)
  registry.update('tab', {
    principal: { ...e.principal, jti: 'jti-new' },
    keys: e.keys,
    roles: ['viewer'],
  })
  assert.deepEqual(ids(registry.select(only({ jtis: ['jti-old'] }))), [])
  assert.deepEqual(ids(registry.select(only({ jtis: ['jti-new'] }))), ['tab'])
  assert.deepEqual(ids(registry.select(only({ roles: ['editor'] }))), [])
  assert.deepEqual(ids(registry.select(only({ roles: ['viewer'] }))), ['tab'])
  assert.deepEqual(ids(registry.select({ all: true })), ['tab'])
})

test('entries with equal roles and capabilities share one object of each', () => {
  const registry = createSessionRegistry()
  const a = entry('a', 'alice', 'sid-a', 'jti-a')
  const b = entry('b', 'bob', 'sid-b', 'jti-b')
  const c = entry('c', 'carol', 'sid-c', 'jti-c', ['editor', 'team'])
  for (const e of [a, b, c]) registry.add(e)
  assert.equal(a.capabilities, b.capabilities)
  assert.equal(a.roles, b.roles)
  assert.notEqual(a.capabilities, c.capabilities)
  assert.deepEqual(c.roles, ['editor', 'team'])

  const stored = registry.setCapabilities(c, structuredClone(EDITOR))
  assert.equal(stored, a.capabilities, 'now equal to the others: the shared one')
  assert.equal(c.capabilities, a.capabilities)
})
