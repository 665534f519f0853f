import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * Bench fixtures run as their own processes, so a server never shares an event loop with the
 * load that drives it. A fixture speaks JSON lines on stdout (and, when `ipc` is on, messages over
 * the IPC channel), logs to stderr, and exits when its stdin closes, so it cannot outlive a parent
 * that died.
 */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface FixtureOptions {
  /** Shown in errors: `the enforced server exited…`. */
  label: string
  args?: string[]
  /** Flags for node itself, such as `--expose-gc` or `--cpu-prof`. */
  nodeArgs?: string[]
  /** Opens an IPC channel (`process.send` in the child). */
  ipc?: boolean
  /** Raises the open-file limit first (as root the hard one too), for thousands of sockets. */
  fileLimit?: number
  env?: Record<string, string>
}

export interface Fixture {
  label: string
  child: ChildProcess
  /** The next JSON line the child writes to stdout. */
  line<T>(timeoutMs?: number): Promise<T>
  /** The next IPC message that `match` accepts; others go to the listeners on `child`. */
  message<T>(match: (m: any) => boolean, timeoutMs?: number): Promise<T>
  /** The end of the child's stderr, for errors. */
  stderr(): string
  stop(): Promise<void>
}

/** Spawns `node --import tsx <file>`; the returned fixture is already running. */
export function startFixture(file: string, options: FixtureOptions): Fixture {
  const node = [...(options.nodeArgs ?? []), '--import', 'tsx', file, ...(options.args ?? [])]
  const stdio = options.ipc
    ? (['pipe', 'pipe', 'pipe', 'ipc'] as const)
    : (['pipe', 'pipe', 'pipe'] as const)
  const env = { ...process.env, ...options.env }
  // `exec` keeps the pid, the pipes and the IPC descriptor: killing `child` kills node itself.
  const raise = `ulimit -n ${options.fileLimit} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`
  const child = options.fileLimit
    ? spawn('bash', ['-c', raise, process.execPath, ...node], { cwd: ROOT, stdio: [...stdio], env })
    : spawn(process.execPath, node, { cwd: ROOT, stdio: [...stdio], env })

  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err = (err + chunk).slice(-4000)
  })
  let exit: string | null = null
  const lines: unknown[] = []
  const waiters: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = []
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
    let nl: number
    while ((nl = out.indexOf('\n')) >= 0) {
      const text = out.slice(0, nl)
      out = out.slice(nl + 1)
      if (!text.startsWith('{')) continue
      const value = JSON.parse(text) as unknown
      const waiter = waiters.shift()
      if (waiter) waiter.resolve(value)
      else lines.push(value)
    }
  })
  const failure = (why: string): Error =>
    new Error(`the ${options.label} ${why}\n${err.trim() || '(no stderr)'}`)
  child.once('error', (e) => {
    exit = `could not be spawned: ${e.message}`
    for (const w of waiters.splice(0)) w.reject(failure(exit))
  })
  child.once('exit', (code, signal) => {
    exit = `exited (${signal ?? String(code)})`
    for (const w of waiters.splice(0)) w.reject(failure(exit))
  })
  // A parent that dies leaves the child's stdin at EOF: the fixture exits on it.
  child.stdin!.on('error', () => {})

  function timed<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(failure(`sent no ${what} within ${ms / 1000} s`)), ms)
    })
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
  }

  return {
    label: options.label,
    child,
    line<T>(timeoutMs = 60_000): Promise<T> {
      if (lines.length > 0) return Promise.resolve(lines.shift() as T)
      if (exit !== null) return Promise.reject(failure(exit))
      const next = new Promise<T>((resolve, reject) => {
        waiters.push({ resolve: resolve as (v: unknown) => void, reject })
      })
      return timed(next, timeoutMs, 'line')
    },
    message<T>(match: (m: any) => boolean, timeoutMs = 60_000): Promise<T> {
      if (exit !== null) return Promise.reject(failure(exit))
      let onMessage: (m: unknown) => void = () => {}
      let onExit: () => void = () => {}
      const next = new Promise<T>((resolve, reject) => {
        onMessage = (m) => {
          if (match(m)) resolve(m as T)
        }
        onExit = () => reject(failure(exit ?? 'exited'))
        child.on('message', onMessage)
        child.once('exit', onExit)
      })
      return timed(next, timeoutMs, 'message').finally(() => {
        child.off('message', onMessage)
        child.off('exit', onExit)
      })
    },
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || exit !== null) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.stdin!.end()
      child.kill('SIGTERM')
      const forced = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(forced)
    },
  }
}

/** CPU time (user + system) a live process has used so far, in ms; NaN off Linux. */
export async function cpuMs(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN
  try {
    const { readFile } = await import('node:fs/promises')
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
  } catch {
    return Number.NaN
  }
}
