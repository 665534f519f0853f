import { CliFailure } from './api-client.js'
import { policyApply } from './apply-command.js'
import { UsageError, type Invocation } from './args.js'
import type { CommandContext } from './context.js'

/**
 * `vigil policy get` prints the document alone on stdout (its version on stderr), so that
 * `vigil policy get > policy.json`, an edit and `vigil policy put policy.json` round-trip.
 * `vigil policy put <file>` replaces it; the enforcer validates, and every offending field is
 * printed by its JSON path.
 */
export async function policy(inv: Invocation, ctx: CommandContext): Promise<void> {
  if (inv.action === 'apply') return policyApply(inv, ctx)
  return inv.action === 'get' ? policyGet(inv, ctx) : policyPut(inv, ctx)
}

async function policyGet(inv: Invocation, ctx: CommandContext): Promise<void> {
  if (inv.args.length > 0) throw new UsageError(`policy get: unexpected "${inv.args[0]}"`)
  if (inv.values['if-match'] !== undefined)
    throw new UsageError('policy get: --if-match is for put')
  const result = await ctx.api.call<{ version: number; policy: unknown }>('GET', '/v1/policy')
  if (ctx.json) return ctx.print(result, '')
  ctx.note(`policy version ${result.version}`)
  ctx.outJson(result.policy)
}

async function policyPut(inv: Invocation, ctx: CommandContext): Promise<void> {
  const [file, extra] = inv.args
  if (file === undefined) throw new UsageError('policy put: name the policy file (or - for stdin)')
  if (extra !== undefined) throw new UsageError(`policy put: unexpected "${extra}"`)
  const ifMatch = inv.values['if-match'] as string | undefined
  if (ifMatch !== undefined && !/^\d+$/.test(ifMatch)) {
    throw new UsageError('policy put: --if-match takes a policy version number')
  }
  const document = await readDocument(file, ctx)
  const result = await ctx.api.call<{ version: number }>('PUT', '/v1/policy', document, {
    ...(ifMatch === undefined ? {} : { 'if-match': ifMatch }),
  })
  ctx.print(result, `replaced the policy (policy version ${result.version})`)
}

/** The file's JSON; `{version, policy}` as `policy get --json` prints it is unwrapped. */
async function readDocument(file: string, ctx: CommandContext): Promise<unknown> {
  const where = file === '-' ? 'standard input' : file
  let text: string
  try {
    text = await ctx.readInput(file)
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).message
    throw new CliFailure(2, [`cannot read ${where} (${code})`])
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new CliFailure(2, [`${where} is not valid JSON: ${(err as Error).message}`])
  }
  const wrapped = parsed as Record<string, unknown> | null
  if (
    typeof wrapped === 'object' &&
    wrapped !== null &&
    Object.keys(wrapped).length === 2 &&
    typeof wrapped['version'] === 'number' &&
    typeof wrapped['policy'] === 'object'
  ) {
    return wrapped['policy']
  }
  return parsed
}
