import type { AdminApi } from './api-client.js'
import type { Invocation } from './args.js'

/** What a CLI command gets: the API, where to print, and whether `--json` was asked for. */
export interface CommandContext {
  api: AdminApi
  json: boolean
  /** Text on stdout (lines split on `\n`), anything else non-printable in it escaped. */
  out(line: string): void
  /** A value as indented JSON on stdout, anything non-printable in its strings escaped. */
  outJson(value: unknown): void
  /** One line on stderr: information that must not end up in piped output. */
  note(line: string): void
  /** A progress line on stderr, overwritten in place; shown only on a terminal. */
  progress(line: string): void
  /** The API's answer as JSON with `--json`, else the human line. */
  print(result: unknown, human: string): void
  /** A file's text, or standard input for `-`. */
  readInput(file: string): Promise<string>
}

export type Command = (inv: Invocation, ctx: CommandContext) => Promise<void>
