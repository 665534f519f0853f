import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { TokenPair } from '@vigil-enforcer/client/protocol'
import {
  SEED_POLICY,
  TEST_API_KEY,
  startNode,
  type TestNode,
} from '../../server/test/helpers/enforcer.js'
import type { JobView } from '../src/export-jobs.js'
import { startExportWorker, type ExportWorker } from '../src/export-worker.js'

let node: TestNode
let worker: ExportWorker

before(async () => {
  node = await startNode({ realtime: { events: {} } })
  const seeded = await node.api('/v1/policy', { method: 'PUT', json: SEED_POLICY })
  assert.equal(seeded.status, 200)
  worker = await startExportWorker({ vigilUrl: node.url, apiKey: TEST_API_KEY, port: 0 })
})

after(async () => {
  await worker.close()
  await node.close()
})

async function session(sub: string): Promise<TokenPair> {
  const res = await node.api('/v1/sessions', { method: 'POST', json: { sub } })
  assert.equal(res.status, 201)
  return (await res.json()) as TokenPair
}

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, json: await res.json() }
}

async function startJob(token: string, docId: string): Promise<JobView> {
  const { status, json } = await post(worker.url, { token, docId })
  assert.equal(status, 202, JSON.stringify(json))
  assert.equal(json.state, 'running')
  return json as JobView
}

async function view(id: string): Promise<JobView> {
  return (await (await fetch(`${worker.url}/jobs/${id}`)).json()) as JobView
}

test('an export job is cancelled the moment its user is revoked; another user’s keeps running', async () => {
  const [alice, bob] = await Promise.all([session('alice'), session('bob')])
  const [hers, his] = await Promise.all([
    startJob(alice.access_token, 'report-1'),
    startJob(bob.access_token, 'report-2'),
  ])
  const stopped = worker.jobs.get(hers.id)!.settled

  const res = await node.api('/v1/revocations', {
    method: 'POST',
    json: { subject: 'alice', reason: 'offboarded' },
  })
  assert.equal(res.status, 201)
  const final = await stopped
  assert.equal(final.state, 'cancelled')
  assert.equal(final.reason, 'revoked: offboarded')
  assert.ok(final.progress < 100)

  assert.deepEqual(await view(hers.id), final)
  const other = await view(his.id)
  assert.equal(other.state, 'running')
  assert.equal(other.subject, 'bob')
})

test('revoking one session cancels only the job of that session', async () => {
  const [first, second] = await Promise.all([session('carol'), session('carol')])
  const [a, b] = await Promise.all([
    startJob(first.access_token, 'ledger'),
    startJob(second.access_token, 'ledger'),
  ])
  const stopped = worker.jobs.get(a.id)!.settled
  await node.api('/v1/revocations', {
    method: 'POST',
    json: { session: first.session_id, reason: 'signed out' },
  })
  assert.equal((await stopped).reason, 'revoked: signed out')
  assert.equal((await view(b.id)).state, 'running')
})

test('an export is refused when the user may not read the document or the token is bad', async () => {
  const dave = await session('dave')
  const denied = await post(worker.url, { token: dave.access_token, docId: 'report-1' })
  assert.equal(denied.status, 403)
  assert.equal(denied.json.error.code, 'forbidden')

  const forged = await post(worker.url, { token: 'a.b.c', docId: 'report-1' })
  assert.equal(forged.status, 401)
  assert.equal(forged.json.error.code, 'token_invalid')

  const missing = await post(worker.url, { docId: 'report-1' })
  assert.equal(missing.status, 400)
  assert.equal(
    worker.jobs.running().some((j) => j.view.subject === 'dave'),
    false,
  )
})

test('an export nobody revokes runs to done', async () => {
  const quick = await startExportWorker({
    vigilUrl: node.url,
    apiKey: TEST_API_KEY,
    port: 0,
    tickMs: 1,
    ticks: 5,
  })
  try {
    const bob = await session('bob')
    const { json } = await post(quick.url, { token: bob.access_token, docId: 'small' })
    const final = await quick.jobs.get(json.id)!.settled
    assert.deepEqual(
      { state: final.state, progress: final.progress, reason: final.reason },
      { state: 'done', progress: 100, reason: undefined },
    )
  } finally {
    await quick.close()
  }
})
