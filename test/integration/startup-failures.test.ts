/**
 * Start-up failures as an operator meets them: the real bin (and `npm start`) spawned against a
 * busy port, an unreachable Redis, a bad variable. Each must end in one line naming the cause,
 * exit 1, and show no stack trace — nor npm's own error lines under it.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Server } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { ROOT, VIGIL_BIN } from '../helpers/process.js'

interface Exit {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `command` to its end with only `env` (and PATH) in its environment. */
async function run(command: string, args: string[], env: Record<string, string>): Promise<Exit> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, stdout, stderr }
}

const bin = (env: Record<string, string>) => run(process.execPath, [VIGIL_BIN], env)

const lines = (text: string): string[] => text.split('\n').filter((l) => l.trim() !== '')

/** No stack frame anywhere, neither in the human line nor in the JSON log. */
function assertNoStack(exit: Exit): void {
  const all = exit.stdout + exit.stderr
  assert.doesNotMatch(all, /^\s+at /m, all)
  assert.doesNotMatch(all, /"stack"/, all)
}

async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, port: (server.address() as { port: number }).port }
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const { server, port } = await listening()
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('start-up failures', () => {
  let busy: Server
  let busyPort: number
  before(async () => {
    ;({ server: busy, port: busyPort } = await listening())
  })
  after(() => new Promise((resolve) => busy.close(resolve)))

  it('a busy port: one line naming the port, exit 1, no stack trace', async () => {
    const exit = await bin({ PORT: String(busyPort), VIGIL_API_KEY: 'k'.repeat(32) })
    assert.equal(exit.code, 1, exit.stderr)
    assert.deepEqual(lines(exit.stderr), [
      `vigil: cannot listen on 127.0.0.1:${busyPort}: the port is already in use (set PORT to a free port)`,
    ])
    assert.match(exit.stdout, /"code":"EADDRINUSE","msg":"could not start"/)
    assertNoStack(exit)
  })

  it('an unreachable Redis: one line naming its URL without the credentials, exit 1', async () => {
    const port = await closedPort()
    const exit = await bin({
      PORT: '0',
      REDIS_URL: `redis://vigil:s3cret-pw@127.0.0.1:${port}/0`,
      VIGIL_API_KEY: 'k'.repeat(32),
    })
    assert.equal(exit.code, 1, exit.stderr)
    assert.deepEqual(lines(exit.stderr), [
      `vigil: cannot reach the Redis store at redis://***@127.0.0.1:${port}/0 (check REDIS_URL)`,
    ])
    assert.ok(!(exit.stdout + exit.stderr).includes('s3cret-pw'), 'the password is never printed')
    assertNoStack(exit)
  })

  it('a bad variable: one line naming it, exit 1', async () => {
    const exit = await bin({ PORT: 'eighty' })
    assert.equal(exit.code, 1)
    assert.deepEqual(lines(exit.stderr), [
      'vigil: invalid configuration: PORT: must be a whole number',
    ])
    assertNoStack(exit)
  })

  // `--ignore-scripts` skips only the prestart build of the browser SDK, which this needs not.
  it('npm start on a busy port ends with the one line, not under npm error lines', async () => {
    const exit = await run('npm', ['start', '--ignore-scripts'], {
      PORT: String(busyPort),
      VIGIL_API_KEY: 'k'.repeat(32),
    })
    assert.equal(exit.code, 1, exit.stderr)
    assert.deepEqual(lines(exit.stderr), [
      `vigil: cannot listen on 127.0.0.1:${busyPort}: the port is already in use (set PORT to a free port)`,
    ])
    assert.doesNotMatch(exit.stdout + exit.stderr, /npm (error|ERR!)/)
    assertNoStack(exit)
  })

  it('npm start with an unreachable Redis ends with the one line too', async () => {
    const port = await closedPort()
    const exit = await run('npm', ['start', '--ignore-scripts'], {
      PORT: '0',
      REDIS_URL: `redis://127.0.0.1:${port}`,
      VIGIL_API_KEY: 'k'.repeat(32),
    })
    assert.equal(exit.code, 1, exit.stderr)
    assert.deepEqual(lines(exit.stderr), [
      `vigil: cannot reach the Redis store at redis://127.0.0.1:${port} (check REDIS_URL)`,
    ])
    assert.doesNotMatch(exit.stdout + exit.stderr, /npm (error|ERR!)/)
    assertNoStack(exit)
  })
})
