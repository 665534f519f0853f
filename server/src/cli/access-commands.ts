import type { LiveSessionInfo } from '../store/types.js'
import { UsageError, type Invocation } from './args.js'
import type { CommandContext } from './context.js'
import { printableLine } from './printable.js'

interface Applied {
  version: number
  at: number
}

/** `{subject}` | `{session}` | `{jti}` | `{subject, issued_before}` from the target options. */
function revocationTarget(inv: Invocation): { body: Record<string, unknown>; label: string } {
  const { subject, session, jti } = inv.values as Record<string, string | undefined>
  const issuedBefore = inv.values['issued-before'] as string | undefined
  const given = [subject, session, jti].filter((v) => v !== undefined)
  if (given.length !== 1) {
    throw new UsageError(`${inv.command}: give exactly one of --subject, --session or --jti`)
  }
  if (issuedBefore !== undefined && subject === undefined) {
    throw new UsageError(`${inv.command}: --issued-before goes with --subject`)
  }
  if (inv.args.length > 0) throw new UsageError(`${inv.command}: unexpected "${inv.args[0]}"`)
  if (session !== undefined) return { body: { session }, label: `session ${session}` }
  if (jti !== undefined) return { body: { jti }, label: `token ${jti}` }
  if (issuedBefore === undefined) return { body: { subject }, label: `subject ${subject}` }
  // Epoch seconds travel as a number; "now" and ISO dates as the server parses them.
  const before = /^\d+$/.test(issuedBefore) ? Number(issuedBefore) : issuedBefore
  return {
    body: { subject, issued_before: before },
    label: `tokens of subject ${subject} issued before ${issuedBefore}`,
  }
}

/** `vigil revoke …`: `POST /v1/revocations`. */
export async function revoke(inv: Invocation, ctx: CommandContext): Promise<void> {
  const { body, label } = revocationTarget(inv)
  const reason = inv.values['reason'] as string | undefined
  if (reason !== undefined) body['reason'] = reason
  const expiresAt = inv.values['expires-at'] as string | undefined
  if (expiresAt !== undefined) {
    if (body['jti'] === undefined) throw new UsageError('revoke: --expires-at goes with --jti')
    if (!/^\d+$/.test(expiresAt)) throw new UsageError('revoke: --expires-at takes epoch seconds')
    body['expires_at'] = Number(expiresAt)
  }
  const result = await ctx.api.call<Applied>('POST', '/v1/revocations', body)
  ctx.print(result, `revoked ${label} (policy version ${result.version})`)
}

/** `vigil lift …`: `DELETE /v1/revocations`. */
export async function lift(inv: Invocation, ctx: CommandContext): Promise<void> {
  const { body, label } = revocationTarget(inv)
  const result = await ctx.api.call<Applied>('DELETE', '/v1/revocations', body)
  ctx.print(result, `lifted the revocation of ${label} (policy version ${result.version})`)
}

/** `vigil roles set <sub> <role>… | --none` and `vigil roles get <sub>`. */
export async function roles(inv: Invocation, ctx: CommandContext): Promise<void> {
  const [subject, ...names] = inv.args
  if (subject === undefined) throw new UsageError(`roles ${inv.action}: name the subject`)
  if (inv.action === 'get') {
    if (names.length > 0) throw new UsageError(`roles get: unexpected "${names[0]}"`)
    const { version, policy } = await ctx.api.call<{
      version: number
      policy: { bindings?: Record<string, string[]> }
    }>('GET', '/v1/policy')
    const held = policy.bindings?.[subject] ?? []
    const text = held.length > 0 ? held.join(', ') : '(no roles)'
    return ctx.print({ subject, roles: held, version }, `${subject}: ${text}`)
  }
  const none = inv.values['none'] === true
  if (names.length === 0 && !none) {
    throw new UsageError('roles set: name at least one role, or pass --none to remove them all')
  }
  if (names.length > 0 && none)
    throw new UsageError('roles set: roles and --none exclude each other')
  const path = `/v1/subjects/${encodeURIComponent(subject)}/roles`
  const result = await ctx.api.call<Applied>('PUT', path, { roles: names })
  const text = names.length > 0 ? `roles ${names.join(', ')}` : 'no roles'
  ctx.print(result, `${subject} now has ${text} (policy version ${result.version})`)
}

/** `vigil sessions`: the live sessions of every node, one line each. */
export async function sessions(inv: Invocation, ctx: CommandContext): Promise<void> {
  if (inv.args.length > 0) throw new UsageError(`sessions: unexpected "${inv.args[0]}"`)
  const result = await ctx.api.call<{ version: number; sessions: LiveSessionInfo[] }>(
    'GET',
    '/v1/sessions',
  )
  if (ctx.json) return ctx.print(result, '')
  if (result.sessions.length === 0) {
    return ctx.out(`no live sessions (policy version ${result.version})`)
  }
  // Escaped before the widths are measured, so an escaped cell still lines up.
  const rows = result.sessions.map((s) =>
    [
      String(s.sid),
      String(s.sub),
      s.roles.join(',') || '-',
      String(s.node),
      String(s.sockets),
      new Date(s.connectedAt).toISOString(),
      s.lastDecisionAt ? new Date(s.lastDecisionAt).toISOString() : '-',
    ].map(printableLine),
  )
  const header = ['SESSION', 'SUBJECT', 'ROLES', 'NODE', 'SOCKETS', 'CONNECTED', 'LAST DECISION']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  for (const row of [header, ...rows]) {
    ctx.out(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
  }
}

/** `vigil keys rotate`: `POST /v1/keys/rotate`. */
export async function keys(inv: Invocation, ctx: CommandContext): Promise<void> {
  if (inv.args.length > 0) throw new UsageError(`keys rotate: unexpected "${inv.args[0]}"`)
  const result = await ctx.api.call<Applied>('POST', '/v1/keys/rotate')
  ctx.print(result, `rotated the signing key (policy version ${result.version})`)
}

interface StoreStatus {
  kind: string
  mode: string
  status: string
  failure?: { code: string; message: string }
  node: { epoch: string; version: number }
  store: { epoch: string; version: number } | null | 'unreachable'
}

type RestoreAnswer = { restored: boolean; version: number; revocations: number; keys: number }

/** `vigil store status` and `vigil store restore`: the by-hand way out of `store_reset`. */
export async function store(inv: Invocation, ctx: CommandContext): Promise<void> {
  if (inv.args.length > 0) throw new UsageError(`store ${inv.action}: unexpected "${inv.args[0]}"`)
  if (inv.action === 'status') {
    const s = await ctx.api.call<StoreStatus>('GET', '/v1/store')
    const seen =
      typeof s.store === 'string'
        ? s.store
        : s.store === null
          ? 'no epoch (emptied)'
          : `epoch ${s.store.epoch} version ${s.store.version}`
    const lines = [
      `status  ${s.status}${s.failure ? ` — ${s.failure.message}` : ''}`,
      `node    epoch ${s.node.epoch} version ${s.node.version}`,
      `store   ${seen} (${s.kind}, on loss: ${s.mode})`,
    ]
    return ctx.print(s, lines.join('\n'))
  }
  const r = await ctx.api.call<RestoreAnswer>('POST', '/v1/store/restore')
  ctx.print(
    r,
    r.restored
      ? `restored ${r.revocations} revocations and ${r.keys} keys (policy version ${r.version})`
      : `nothing to restore: the store holds everything this node knew (version ${r.version})`,
  )
}
