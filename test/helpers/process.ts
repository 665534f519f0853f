import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { REDIS_URL, testPrefix } from '../../server/test/helpers/redis.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const VIGIL_BIN = `${ROOT}server/test/helpers/source-bin.js`
export const ENFORCED_NODE = `${ROOT}test/fixtures/enforced-node.ts`

/**
 * What the processes of one multi-node test share: the test's own Redis prefix (drop it with
 * `dropPrefix` afterwards), an API key and an issuer.
 */
export function sharedNodeEnv(tag: string) {
  const prefix = testPrefix(tag)
  const apiKey = `it-${randomBytes(16).toString('hex')}`
  const env = {
    REDIS_URL,
    VIGIL_REDIS_PREFIX: prefix,
    VIGIL_API_KEY: apiKey,
    VIGIL_ISSUER: 'http://vigil.test',
  }
  return { prefix, apiKey, env }
}

export interface NodeProcess {
  url: string
  child: ChildProcess
  /** Every stdout line so far (JSON log lines). */
  lines: string[]
  /** Everything written to stderr so far (what the bin prints for a human, once). */
  stderr(): string
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * Starts an enforcer as its own process (the `vigil` bin, or a `.ts` fixture through tsx) on a
 * free port and resolves once it prints the URL it listens on.
 */
export async function startProcess(
  entry: string,
  env: Record<string, string>,
): Promise<NodeProcess> {
  const args = entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry]
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! })
    rl.on('line', (line) => {
      lines.push(line)
      const m = /"url":"(http:\/\/[^"]+)"/.exec(line)
      if (m) resolve(m[1]!)
    })
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}: ${stderr}`)))
  })
  return {
    url,
    child,
    lines,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode
      child.kill(signal)
      const [code] = (await once(child, 'exit')) as [number | null]
      return code
    },
  }
}

/** An answer of a node's HTTP API: status and parsed JSON body (null when empty). */
export interface ApiAnswer {
  status: number
  json: any
}

/**
 * A caller of a node process's HTTP API with the given API key (or, per call, a user's token).
 *
 * @example
 * ```ts
 * const call = apiCaller(API_KEY)
 * const { status, json } = await call(nodeA, 'POST', '/v1/sessions', { sub: 'alice' })
 * ```
 */
export function apiCaller(apiKey: string) {
  return async function call(
    node: { url: string },
    method: string,
    path: string,
    body?: unknown,
    auth = apiKey,
  ): Promise<ApiAnswer> {
    const res = await fetch(node.url + path, {
      method,
      headers: {
        authorization: `Bearer ${auth}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    return { status: res.status, json: text ? JSON.parse(text) : null }
  }
}
