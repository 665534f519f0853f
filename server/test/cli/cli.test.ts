import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { io } from 'socket.io-client'
import { createMemoryStore } from '../../src/store/memory-store.js'
import { expectJson } from '../api/helpers.js'
import { SEED_POLICY, TEST_API_KEY, startNode, type TestNode } from '../helpers/enforcer.js'

const BIN = fileURLToPath(new URL('../helpers/source-bin.js', import.meta.url))

let node: TestNode
let dir: string
/** Resolves the next time this node publishes its live sessions to the directory. */
let published: () => Promise<void>

before(async () => {
  const store = createMemoryStore()
  const put = store.putLiveSessions.bind(store)
  const waiting: (() => void)[] = []
  store.putLiveSessions = async (...args) => {
    await put(...args)
    for (const resolve of waiting.splice(0)) resolve()
  }
  published = () => new Promise((resolve) => waiting.push(resolve))
  node = await startNode({ store, realtime: { events: {} } })
  dir = await mkdtemp(join(tmpdir(), 'vigil-cli-'))
})

after(async () => {
  await node.close()
  await rm(dir, { recursive: true, force: true })
})

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the `vigil` bin against the test node, with the API key unless `env` says otherwise. */
async function vigil(
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: {
      PATH: process.env['PATH'] ?? '',
      VIGIL_URL: node.url,
      VIGIL_API_KEY: TEST_API_KEY,
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  child.stdin.end(input ?? '')
  const [code] = (await once(child, 'close')) as [number | null]
  return { code, stdout, stderr }
}

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}

async function currentPolicy(): Promise<{ version: number; policy: any }> {
  return expectJson(await node.api('/v1/policy'))
}

test('policy put replaces the document from a file and policy get prints it back', async () => {
  const put = await vigil(['policy', 'put', await file('seed.json', JSON.stringify(SEED_POLICY))])
  assert.equal(put.code, 0, put.stderr)
  const { version, policy } = await currentPolicy()
  assert.equal(put.stdout, `replaced the policy (policy version ${version})\n`)
  assert.deepEqual(policy.bindings, SEED_POLICY.bindings)

  const [get, raw] = await Promise.all([
    vigil(['policy', 'get']),
    vigil(['policy', 'get', '--json']),
  ])
  assert.equal(get.code, 0, get.stderr)
  assert.deepEqual(JSON.parse(get.stdout), policy)
  assert.equal(get.stderr, `policy version ${version}\n`)
  assert.deepEqual(JSON.parse(raw.stdout), { version, policy })

  // What `policy get --json` prints goes straight back in, from standard input.
  const again = await vigil(['policy', 'put', '-', '--if-match', String(version)], {}, raw.stdout)
  assert.equal(again.code, 0, again.stderr)
  const stale = await vigil(['policy', 'put', '-', '--if-match', String(version)], {}, raw.stdout)
  assert.equal(stale.code, 1)
  assert.match(stale.stderr, /^vigil: conflict: /)
})

test('policy put with an invalid document exits 1 and names every offending path', async () => {
  const bad = {
    roles: { editor: { permissions: [{ action: 42, resource: 'doc/*' }] } },
    bindings: { alice: 'editor' },
  }
  const before = (await currentPolicy()).version
  const run = await vigil(['policy', 'put', await file('bad.json', JSON.stringify(bad))])
  assert.equal(run.code, 1)
  assert.match(run.stderr, /^vigil: invalid_policy: /)
  assert.match(run.stderr, /^ {2}roles\.editor\.permissions\.0\.action: /m)
  assert.match(run.stderr, /^ {2}bindings\.alice: /m)
  assert.equal(run.stdout, '')
  assert.equal((await currentPolicy()).version, before)

  const [broken, missing] = await Promise.all([
    vigil(['policy', 'put', await file('broken.json', '{"roles": ')]),
    vigil(['policy', 'put', join(dir, 'absent.json')]),
  ])
  assert.equal(broken.code, 2)
  assert.match(broken.stderr, /broken\.json is not valid JSON/)
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /cannot read .*absent\.json \(ENOENT\)/)
})

test('roles set steps a subject down and roles get shows her roles', async () => {
  const set = await vigil(['roles', 'set', 'alice', 'viewer'])
  assert.equal(set.code, 0, set.stderr)
  assert.match(set.stdout, /^alice now has roles viewer \(policy version \d+\)\n$/)
  const decision = await expectJson<{ allow: boolean }>(
    await node.api('/v1/decisions', {
      method: 'POST',
      json: { subject: 'alice', action: 'doc:write', resource: 'doc/1' },
    }),
  )
  assert.equal(decision.allow, false)
  const get = await vigil(['roles', 'get', 'alice'])
  assert.equal(get.stdout, 'alice: viewer\n')
  const nothing = await vigil(['roles', 'set', 'alice'])
  assert.equal(nothing.code, 2)
  assert.match(nothing.stderr, /--none/)
})

test('revoke takes a subject, a session or a jti, with a reason, and lift undoes it', async () => {
  const runs = await Promise.all([
    vigil(['revoke', '--subject', 'alice', '--reason', 'offboarded']),
    vigil(['revoke', '--session', 'sess-1']),
    vigil([
      'revoke',
      '--jti',
      'jti-1',
      '--expires-at',
      String(Math.floor(Date.now() / 1000) + 600),
    ]),
    vigil(['revoke', '--subject', 'bob', '--issued-before', 'now']),
  ])
  for (const run of runs) assert.equal(run.code, 0, run.stderr)
  assert.match(runs[0]!.stdout, /^revoked subject alice \(policy version \d+\)\n$/)
  assert.match(runs[1]!.stdout, /^revoked session sess-1 /)
  assert.match(runs[3]!.stdout, /^revoked tokens of subject bob issued before now /)
  const { revocations } = (await currentPolicy()).policy
  assert.equal(revocations.subjects.alice.reason, 'offboarded')
  assert.ok(revocations.sessions['sess-1'])
  assert.ok(revocations.tokens['jti-1'])
  assert.equal(typeof revocations.issuedBefore.bob.before, 'number')

  const lifted = await vigil(['lift', '--subject', 'alice', '--json'])
  assert.equal(lifted.code, 0, lifted.stderr)
  assert.equal(typeof JSON.parse(lifted.stdout).version, 'number')
  assert.equal((await currentPolicy()).policy.revocations.subjects.alice, undefined)

  const both = await vigil(['revoke', '--subject', 'alice', '--session', 'sess-2'])
  assert.equal(both.code, 2)
  assert.match(both.stderr, /exactly one of --subject, --session or --jti/)
})

test('sessions lists the live sessions of the enforcer', async () => {
  const empty = await vigil(['sessions'])
  assert.equal(empty.code, 0, empty.stderr)
  assert.match(empty.stdout, /^no live sessions \(policy version \d+\)\n$/)

  const pair = await expectJson<{ access_token: string; session_id: string }>(
    await node.api('/v1/sessions', { method: 'POST', json: { sub: 'carol' } }),
    201,
  )
  const listed = published()
  const socket = io(node.url, { auth: { token: pair.access_token }, transports: ['websocket'] })
  try {
    await new Promise((resolve) => socket.once('connect', () => resolve(undefined)))
    await listed
    const run = await vigil(['sessions'])
    assert.equal(run.code, 0, run.stderr)
    const [header, row] = run.stdout.trimEnd().split('\n')
    assert.match(header!, /^SESSION +SUBJECT +ROLES +NODE +SOCKETS +CONNECTED +LAST DECISION$/)
    assert.match(row!, new RegExp(`^${pair.session_id} +carol +admin +\\S+ +1 `))
  } finally {
    socket.close()
  }
})

test('keys rotate publishes a new signing key', async () => {
  const before = await expectJson<{ keys: unknown[] }>(await node.api('/.well-known/jwks.json'))
  const run = await vigil(['keys', 'rotate'])
  assert.equal(run.code, 0, run.stderr)
  assert.match(run.stdout, /^rotated the signing key \(policy version \d+\)\n$/)
  const after = await expectJson<{ keys: unknown[] }>(await node.api('/.well-known/jwks.json'))
  assert.equal(after.keys.length, before.keys.length + 1)
})

test('a wrong API key exits 1 with unauthorized and a missing one exits 2', async () => {
  const wrong = 'wrong-key-0123456789abcdefghij'
  const [refused, missing] = await Promise.all([
    vigil(['sessions'], { VIGIL_API_KEY: wrong }),
    vigil(['policy', 'get'], { VIGIL_API_KEY: '' }),
  ])
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /^vigil: unauthorized: /)
  assert.ok(!refused.stderr.includes(wrong) && !refused.stdout.includes(wrong))
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /VIGIL_API_KEY is not set/)
})

test('an unknown command or an unreachable enforcer exits 2, and --help exits 0', async () => {
  const [unknown, help, unreachable] = await Promise.all([
    vigil(['frobnicate']),
    vigil(['--help']),
    vigil(['sessions'], { VIGIL_URL: 'http://127.0.0.1:1' }),
  ])
  assert.equal(unknown.code, 2)
  assert.match(unknown.stderr, /unknown command "frobnicate"/)
  assert.match(unknown.stderr, /Usage: vigil/)
  assert.equal(help.code, 0)
  assert.match(help.stdout, /^Usage: vigil/)
  assert.match(help.stdout, /policy put <file\.json \| ->/)
  assert.equal(unreachable.code, 2)
  assert.match(unreachable.stderr, /cannot reach the enforcer at http:\/\/127\.0\.0\.1:1/)
})

test('policy apply sends an NDJSON file as one atomic version', async () => {
  await vigil(['policy', 'put', await file('seed-apply.json', JSON.stringify(SEED_POLICY))])
  const before = (await currentPolicy()).version
  const lines = [
    { type: 'subject.roles', subject: 'nd1', roles: ['viewer'] },
    { type: 'subject.roles', subject: 'nd2', roles: ['editor'] },
    { type: 'revoke', target: { kind: 'session', session: 'nd-s1' } },
  ]
  const path = await file('changes.ndjson', lines.map((l) => JSON.stringify(l)).join('\n\n'))
  const run = await vigil(['policy', 'apply', path])
  assert.equal(run.code, 0, run.stderr)
  assert.equal(run.stdout, `applied 3 changes (policy version ${before + 1})\n`)
  assert.equal(run.stderr, '', 'no progress lines when stderr is not a terminal')
  const { version, policy } = await currentPolicy()
  assert.equal(version, before + 1)
  assert.deepEqual(policy.bindings.nd2, ['editor'])
})

test('policy apply splits a large JSON array into atomic batches of 10,000', async () => {
  const before = (await currentPolicy()).version
  const changes = Array.from({ length: 10_001 }, (_, i) => ({
    type: 'revoke',
    target: { kind: 'session', session: `bulk-${i}` },
  }))
  const run = await vigil(['policy', 'apply', await file('big.json', JSON.stringify(changes))])
  assert.equal(run.code, 0, run.stderr)
  assert.equal(
    run.stdout,
    `applied 10001 changes in 2 batches (policy versions ${before + 1}–${before + 2})\n`,
  )
  assert.equal((await currentPolicy()).version, before + 2)
})

test('policy apply names the offending line of a bad change and applies nothing', async () => {
  const before = (await currentPolicy()).version
  const text = [
    JSON.stringify({ type: 'subject.roles', subject: 'nd3', roles: ['viewer'] }),
    '',
    JSON.stringify({ type: 'subject.roles', subject: 'nd4', roles: ['no-such-role'] }),
  ].join('\n')
  const run = await vigil(['policy', 'apply', '-'], {}, text)
  assert.equal(run.code, 1)
  assert.match(run.stderr, /^vigil: invalid_policy: /)
  assert.match(run.stderr, /\n {2}line 3 \(roles\.0\): unknown role "no-such-role"\n/)
  assert.match(run.stderr, /nothing was applied\n$/)
  assert.equal((await currentPolicy()).version, before)
  const bad = await vigil(['policy', 'apply', '-'], {}, '{"type": "revoke",\n')
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /^vigil: standard input:1 is not valid JSON/)
})
