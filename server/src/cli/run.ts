import { readFile } from 'node:fs/promises'
import { keys, lift, revoke, roles, sessions, store } from './access-commands.js'
import { CliFailure, createAdminApi } from './api-client.js'
import { USAGE, UsageError, parseInvocation } from './args.js'
import type { Command, CommandContext } from './context.js'
import { policy } from './policy-commands.js'
import { printableJson, printableLine, printableText } from './printable.js'

/** Where the CLI writes and reads; the process's own streams unless a test says otherwise. */
export interface CliIo {
  stdout(text: string): void
  stderr(text: string): void
  stdin(): Promise<string>
  /** True when stderr is a terminal: progress lines are shown. @default false */
  tty?: boolean
}

const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  tty: process.stderr.isTTY === true,
  async stdin() {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  },
}

const COMMANDS: Record<string, Command> = { revoke, lift, roles, policy, sessions, keys, store }

/**
 * The admin CLI on the `vigil` bin: parses the command line, calls the enforcer's HTTP API with
 * `VIGIL_API_KEY`, prints the outcome and returns the exit status — 0 done, 1 refused by the
 * enforcer, 2 a usage error or an unreachable enforcer. The environment is passed in, so this
 * module never reads `process.env`.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(['revoke', '--subject', 'alice'], process.env)
 * ```
 */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  io: CliIo = processIo,
  fetchImpl?: typeof fetch,
): Promise<number> {
  // The enforcer's data is printed escaped: see printable.ts.
  const fail = (lines: string[]): void =>
    io.stderr(lines.map((l, i) => `${i === 0 ? 'vigil: ' : ''}${printableLine(l)}\n`).join(''))
  try {
    const inv = parseInvocation(argv)
    if (inv.command === 'help' || inv.values['help'] === true) {
      io.stdout(USAGE)
      return 0
    }
    const apiKey = env['VIGIL_API_KEY']
    if (!apiKey) {
      fail(['VIGIL_API_KEY is not set: commands authenticate with the service API key'])
      return 2
    }
    const url = (inv.values['url'] as string | undefined) ?? env['VIGIL_URL'] ?? defaultUrl(env)
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      fail([`"${url}" is not an http(s) URL (--url or VIGIL_URL)`])
      return 2
    }
    const json = inv.values['json'] === true
    const out = (line: string): void => io.stdout(`${printableText(line)}\n`)
    const outJson = (value: unknown): void => io.stdout(`${printableJson(value)}\n`)
    const ctx: CommandContext = {
      api: createAdminApi({ url, apiKey, ...(fetchImpl ? { fetch: fetchImpl } : {}) }),
      json,
      out,
      outJson,
      note: (line) => io.stderr(`${printableText(line)}\n`),
      progress: (line) => {
        if (io.tty) io.stderr(`\r\u001b[2K${printableText(line)}`)
      },
      print: (result, human) => (json ? outJson(result) : out(human)),
      readInput: (file) => (file === '-' ? io.stdin() : readFile(file, 'utf8')),
    }
    await COMMANDS[inv.command]!(inv, ctx)
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      fail([err.message])
      // An unknown command gets the whole list; other mistakes a pointer to it.
      if (err.message.startsWith('unknown command')) io.stderr(`\n${USAGE}`)
      else io.stderr('Run "vigil --help" for usage.\n')
      return 2
    }
    if (err instanceof CliFailure) {
      fail(err.lines)
      return err.exitCode
    }
    fail([`unexpected failure: ${(err as Error)?.message ?? String(err)}`])
    return 2
  }
}

function defaultUrl(env: Record<string, string | undefined>): string {
  const port = env['PORT'] && /^\d+$/.test(env['PORT']) ? env['PORT'] : '3000'
  return `http://127.0.0.1:${port}`
}
