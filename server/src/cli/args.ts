import { parseArgs, type ParseArgsConfig } from 'node:util'

/** What `vigil --help` prints. */
export const USAGE = `Usage: vigil-enforcer [command] [options]

Without a command (or with "serve"), vigil-enforcer runs an enforcer node configured from the
environment. The commands below talk to a running enforcer's HTTP API with $VIGIL_API_KEY.

Commands:
  revoke --subject <sub> [--issued-before <now|epoch s|ISO date>] [--reason <text>]
  revoke --session <sid> [--reason <text>]
  revoke --jti <jti> [--expires-at <epoch s>] [--reason <text>]
  lift --subject <sub> [--issued-before <…>] | --session <sid> | --jti <jti>
                                     lift a revocation
  roles set <sub> <role>… | --none   replace a subject's roles (step down or up)
  roles get <sub>                    show a subject's roles
  policy get                         print the policy document (its version on stderr)
  policy put <file.json | ->         replace the policy document [--if-match <version>]
  policy apply <file | ->            apply changes from a JSON array or NDJSON, in atomic
                                     batches of 10,000 (one policy version each)
  sessions                           list live sessions across all nodes
  keys rotate                        start signing with a new key
  store status                       the store's epoch and version, and whether this node trusts it
  store restore                      write back what the store lost, from this node's copy

Options:
  --json         print the API's JSON answer as it is
  --url <url>    the enforcer [default: $VIGIL_URL, else http://127.0.0.1:$PORT, PORT 3000]
  -h, --help     show this text

Environment:
  VIGIL_API_KEY  the service/admin API key (required by every command; never printed)
  VIGIL_URL      the enforcer's base URL

Exit status: 0 done, 1 the enforcer refused (its error code and message are printed),
2 a usage error or an enforcer that cannot be reached.
`

/** A mistake on the command line: printed with a pointer to `--help`, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

type Options = NonNullable<ParseArgsConfig['options']>

const GLOBAL: Options = {
  json: { type: 'boolean' },
  url: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
}
const REASON: Options = { reason: { type: 'string' } }
const TARGET: Options = {
  subject: { type: 'string' },
  session: { type: 'string' },
  jti: { type: 'string' },
  'issued-before': { type: 'string' },
}

/** Each command (`policy put` is command `policy`, action `put`) and the options it takes. */
const COMMANDS: Record<string, { actions?: string[]; options: Options }> = {
  revoke: { options: { ...TARGET, ...REASON, 'expires-at': { type: 'string' } } },
  lift: { options: TARGET },
  roles: { actions: ['set', 'get'], options: { none: { type: 'boolean' } } },
  policy: { actions: ['get', 'put', 'apply'], options: { 'if-match': { type: 'string' } } },
  sessions: { options: {} },
  keys: { actions: ['rotate'], options: {} },
  store: { actions: ['status', 'restore'], options: {} },
  help: { options: {} },
}

export interface Invocation {
  command: string
  action: string | undefined
  /** Positional arguments after the command and its action. */
  args: string[]
  values: Record<string, string | boolean | undefined>
}

/**
 * Parses `vigil <command> [action] [args] [--options]` with `node:util` parseArgs, strictly:
 * an option the command does not take is a usage error, not silently ignored.
 *
 * @example
 * ```ts
 * parseInvocation(['roles', 'set', 'alice', 'viewer'])
 * // → { command: 'roles', action: 'set', args: ['alice', 'viewer'], values: {} }
 * ```
 */
export function parseInvocation(argv: string[]): Invocation {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h') {
    return { command: 'help', action: undefined, args: [], values: {} }
  }
  const spec = COMMANDS[command]
  if (!spec) throw new UsageError(`unknown command "${command}"`)
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...GLOBAL, ...spec.options },
      allowPositionals: true,
      strict: true,
    })
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message.replace(/\. To specify[^]*$/, '')}`)
  }
  const positionals = [...parsed.positionals]
  let action: string | undefined
  if (spec.actions && !parsed.values['help']) {
    action = positionals.shift()
    if (action === undefined || !spec.actions.includes(action)) {
      const expected = spec.actions.map((a) => `"${command} ${a}"`).join(' or ')
      throw new UsageError(`${command}: expected ${expected}`)
    }
  }
  const values = parsed.values as Invocation['values']
  return { command, action, args: positionals, values }
}
