/**
 * `vigil-enforcer policy apply <file | ->`: many policy changes from a JSON array or NDJSON (one
 * change per line), sent as atomic batches of up to 10,000 (`POST /v1/policy/changes`). A file of
 * at most 10,000 changes is one version, all or nothing. A larger one (a directory import) is
 * several versions, each all or nothing, in file order; on a refusal the command stops, names the
 * offending change by its line (NDJSON) or index (array), and says what was already applied.
 * On a terminal, progress is shown on stderr as it goes.
 *
 * @module
 */

import { CliFailure } from './api-client.js'
import { UsageError, type Invocation } from './args.js'
import type { CommandContext } from './context.js'

/** The enforcer's largest batch (`MAX_BATCH` in the server's schema). */
const BATCH = 10_000

interface Parsed {
  changes: unknown[]
  /** How to name change i in messages: `line 12` (NDJSON) or `change 11` (array). */
  where(i: number): string
}

export async function policyApply(inv: Invocation, ctx: CommandContext): Promise<void> {
  const [file, extra] = inv.args
  if (file === undefined)
    throw new UsageError('policy apply: name the changes file (or - for stdin)')
  if (extra !== undefined) throw new UsageError(`policy apply: unexpected "${extra}"`)
  if (inv.values['if-match'] !== undefined) {
    throw new UsageError('policy apply: --if-match is for put')
  }
  let text: string
  try {
    text = await ctx.readInput(file)
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).message
    throw new CliFailure(2, [`cannot read ${file === '-' ? 'standard input' : file} (${code})`])
  }
  const { changes, where } = parseChanges(text, file === '-' ? 'standard input' : file)
  if (changes.length === 0) throw new CliFailure(2, [`${file}: no changes`])

  const versions: number[] = []
  for (let start = 0; start < changes.length; start += BATCH) {
    const batch = changes.slice(start, start + BATCH)
    let result: { version: number }
    try {
      result = await ctx.api.call<{ version: number }>('POST', '/v1/policy/changes', {
        changes: batch,
      })
    } catch (err) {
      if (!(err instanceof CliFailure)) throw err
      const lines = err.lines.map((line) =>
        line.replace(
          /^ {2}changes\.(\d+)(?:\.(\S*))?: /,
          (_m, i: string, rest?: string) =>
            `  ${where(start + Number(i))}${rest ? ` (${rest})` : ''}: `,
        ),
      )
      const done =
        versions.length === 0
          ? 'nothing was applied'
          : `the first ${start.toLocaleString('en-US')} changes were applied (policy versions ${versions[0]}–${versions.at(-1)}); nothing after them`
      throw new CliFailure(err.exitCode, [...lines, done])
    }
    versions.push(result.version)
    const applied = Math.min(start + BATCH, changes.length)
    ctx.progress(
      `applied ${applied.toLocaleString('en-US')} of ${changes.length.toLocaleString('en-US')} changes`,
    )
  }
  ctx.progress('') // clears the progress line before the summary
  const last = versions.at(-1)!
  const summary =
    versions.length === 1
      ? `applied ${changes.length} changes (policy version ${last})`
      : `applied ${changes.length} changes in ${versions.length} batches (policy versions ${versions[0]}–${last})`
  ctx.print({ version: last, versions, changes: changes.length }, summary)
}

/** A JSON array of changes, `{changes: [...]}`, or NDJSON; blank NDJSON lines are skipped. */
function parseChanges(text: string, file: string): Parsed {
  const trimmed = text.trimStart()
  if (trimmed.startsWith('[') || (trimmed.startsWith('{') && /^\{\s*"changes"/.test(trimmed))) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (err) {
      // NDJSON whose first change names `changes` is still NDJSON.
      if (!trimmed.startsWith('[')) return parseLines(text, file)
      throw new CliFailure(2, [`${file} is not valid JSON: ${(err as Error).message}`])
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { changes?: unknown }).changes
    if (!Array.isArray(list)) throw new CliFailure(2, [`${file}: "changes" is not an array`])
    return { changes: list, where: (i) => `change ${i}` }
  }
  return parseLines(text, file)
}

function parseLines(text: string, file: string): Parsed {
  const changes: unknown[] = []
  const lineOf: number[] = []
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    try {
      changes.push(JSON.parse(line))
    } catch (err) {
      throw new CliFailure(2, [`${file}:${i + 1} is not valid JSON: ${(err as Error).message}`])
    }
    lineOf.push(i + 1)
  })
  return { changes, where: (i) => `line ${lineOf[i]}` }
}
