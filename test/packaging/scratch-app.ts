import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { ROOT } from '../helpers/process.js'

/** What a finished command printed, and how it ended. */
export interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * The environment of a command run for the scratch app: this process's, less what `npm test`'s
 * own npm put there (`npm_config_local_prefix` and the lifecycle variables would point a nested
 * npm back at the workspace). The user's cache and registry settings are kept.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    const kept = ['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']
    if (key.toLowerCase().startsWith('npm_') && !kept.includes(key.toLowerCase())) continue
    if (key === 'INIT_CWD' || key === 'NODE_OPTIONS') continue
    env[key] = value
  }
  return { ...env, ...extra }
}

/** Runs a command to its end; a failure is the caller's to assert, with what it printed. */
export function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; input?: string },
): Promise<Ran> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  child.stdin.end(options.input ?? '')
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** A command that must succeed: its output is in the failure message when it does not. */
export async function ok(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<Ran> {
  const ran = await run(command, args, options)
  if (ran.code !== 0) {
    const tail = (ran.stdout + ran.stderr).slice(-4000)
    throw new Error(`${command} ${args.join(' ')} exited with ${ran.code}:\n${tail}`)
  }
  return ran
}

/** A server started by plain `node` in the scratch app, and the port it printed. */
export interface Served {
  url: string
  stop(): Promise<void>
}

/**
 * Starts `file` (a built `.js` or the package's bin) with plain `node` and resolves with the
 * port found by `portOf` in its stdout lines.
 */
export function serve(
  file: string,
  options: { cwd: string; env: Record<string, string>; portOf: (line: string) => number | null },
): Promise<Served> {
  const child = spawn(process.execPath, [file], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout })
    lines.on('line', (line) => {
      const port = options.portOf(line)
      if (port === null) return
      resolve({
        url: `http://127.0.0.1:${port}`,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
          await exited
        },
      })
    })
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}: ${stderr}`)))
  })
}

/**
 * The first ```ts block under a README heading, so the test checks the text a reader copies.
 * `replace` swaps the parts a test must change (a fixed port); each must be found, so a README
 * edit that drops one fails here instead of silently testing something else.
 */
export function readmeSnippet(heading: string, replace: [string, string][] = []): string {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8')
  const at = readme.indexOf(`\n${heading}\n`)
  if (at < 0) throw new Error(`README.md has no heading "${heading}"`)
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at))
  if (!block) throw new Error(`README.md has no ts block under "${heading}"`)
  let code = block[1]!
  for (const [from, to] of replace) {
    if (!code.includes(from)) throw new Error(`the README snippet under "${heading}" lost ${from}`)
    code = code.replace(from, to)
  }
  return code
}
