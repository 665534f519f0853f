// The admin console: live sessions across nodes, one-click revocation and step-down, key
// rotation, a validated policy editor, a live audit tail and the measured propagation latency.
// Every call goes to Vigil's own API with the admin's own access token (through the SDK).
import { createVigilClient } from '/sdk/vigil.js'

const $ = (id) => document.getElementById(id)
let vigil = null
let policyVersion = null
let policyDirty = false

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag)
  Object.assign(node, props)
  node.append(...children)
  return node
}

async function api(path, init = {}) {
  const res = await vigil.fetch(path, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
  })
  const text = await res.text()
  const body = text ? JSON.parse(text) : null
  if (!res.ok) throw Object.assign(new Error(body?.error?.message ?? res.statusText), body?.error)
  return { body, res }
}

async function act(label, path, init) {
  $('action-status').textContent = `${label}…`
  const started = performance.now()
  try {
    const { body } = await api(path, init)
    const ms = (performance.now() - started).toFixed(1)
    $('action-status').textContent = `${label}: policy v${body.version} (acknowledged in ${ms} ms)`
    refreshSessions()
  } catch (err) {
    $('action-status').textContent = `${label} failed: ${err.code ?? ''} ${err.message}`
  }
}

const json = (body) => ({ method: 'POST', body: JSON.stringify(body) })
const actions = (s) => [
  [
    'Revoke session',
    'revoke-session',
    () =>
      act(
        `Revoke ${s.sid.slice(0, 6)}…`,
        '/v1/revocations',
        json({ session: s.sid, reason: 'revoked by admin' }),
      ),
  ],
  [
    'Revoke user',
    'revoke-subject',
    () =>
      act(
        `Revoke ${s.sub}`,
        '/v1/revocations',
        json({ subject: s.sub, reason: 'revoked by admin' }),
      ),
  ],
  [
    'Step down',
    'step-down',
    () =>
      act(`Step ${s.sub} down`, `/v1/subjects/${encodeURIComponent(s.sub)}/roles`, {
        method: 'PUT',
        body: JSON.stringify({ roles: ['viewer'] }),
      }),
  ],
  [
    'Step up',
    'step-up',
    () =>
      act(`Step ${s.sub} up`, `/v1/subjects/${encodeURIComponent(s.sub)}/roles`, {
        method: 'PUT',
        body: JSON.stringify({ roles: ['editor'] }),
      }),
  ],
  [
    'Tokens before now',
    'revoke-before',
    () =>
      act(
        `Revoke ${s.sub}'s tokens`,
        '/v1/revocations',
        json({ subject: s.sub, issued_before: 'now', reason: 'tokens issued before now revoked' }),
      ),
  ],
]

async function refreshSessions() {
  try {
    const { body } = await api('/v1/sessions')
    $('version').textContent = `policy v${body.version}`
    // Follow the live version in the editor unless the admin is in the middle of an edit.
    if (body.version !== policyVersion && !policyDirty) loadPolicy().catch(() => {})
    const rows = body.sessions
      .sort((a, b) => a.sub.localeCompare(b.sub) || a.connectedAt - b.connectedAt)
      .map((s) => {
        const buttons = actions(s).map(([label, id, run]) => {
          const danger = id.startsWith('revoke')
          const b = el('button', {
            className: `small${danger ? ' danger' : ''}`,
            textContent: label,
            onclick: run,
          })
          b.dataset.testid = `${id}-${s.sub}`
          return b
        })
        const since = new Date(s.connectedAt).toLocaleTimeString()
        const last = s.lastDecisionAt ? new Date(s.lastDecisionAt).toLocaleTimeString() : '—'
        const tr = el(
          'tr',
          {},
          el(
            'td',
            {},
            el('strong', { textContent: s.sub }),
            el('div', {
              className: 'mono muted',
              textContent: `${s.sid.slice(0, 10)}… · ${s.sockets} tab(s)`,
            }),
          ),
          el('td', { className: 'mono', textContent: s.roles.join(', ') || '—' }),
          el('td', { className: 'mono muted', textContent: s.node }),
          el('td', { className: 'mono', textContent: `${since} / ${last}` }),
          el('td', {}, el('div', { className: 'actions' }, ...buttons)),
        )
        tr.dataset.sub = s.sub
        return tr
      })
    $('sessions').replaceChildren(...rows)
    if (rows.length === 0) {
      $('sessions').append(
        el(
          'tr',
          {},
          el('td', {
            colSpan: 5,
            className: 'muted',
            textContent: 'No live sessions yet — sign in on the workspace.',
          }),
        ),
      )
    }
  } catch (err) {
    $('action-status').textContent = `sessions: ${err.code ?? ''} ${err.message}`
  }
}

async function loadPolicy() {
  const { body } = await api('/v1/policy')
  policyVersion = body.version
  policyDirty = false
  $('policy').value = JSON.stringify(body.policy, null, 2)
  $('policy-meta').textContent = `version ${body.version}`
  $('policy-errors').replaceChildren()
  $('policy-status').textContent = ''
}

async function savePolicy() {
  $('policy-errors').replaceChildren()
  let doc
  try {
    doc = JSON.parse($('policy').value)
  } catch (err) {
    $('policy-errors').append(el('li', { textContent: `(json): ${err.message}` }))
    return
  }
  try {
    const { body } = await api('/v1/policy', {
      method: 'PUT',
      body: JSON.stringify(doc),
      headers: { 'if-match': String(policyVersion) },
    })
    $('policy-status').textContent = `Saved as version ${body.version}`
    await loadPolicy()
  } catch (err) {
    $('policy-status').textContent = `${err.code}: ${err.message}`
    for (const d of err.details ?? []) {
      $('policy-errors').append(el('li', { textContent: `${d.path}: ${d.message}` }))
    }
  }
}

async function loadKeys() {
  const jwks = await (await fetch('/.well-known/jwks.json')).json()
  $('kids').replaceChildren(
    ...jwks.keys.map((k) => el('span', { className: 'chip', textContent: `${k.alg} · ${k.kid}` })),
  )
}

async function tailAudit() {
  try {
    const res = await vigil.fetch('/demo/audit')
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffered = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffered += value
      const lines = buffered.split('\n')
      buffered = lines.pop()
      for (const line of lines.filter(Boolean)) showAudit(JSON.parse(line))
    }
  } catch {
    // The tail ends with the admin's session; nothing to retry then.
  }
}

function showAudit(r) {
  const t = new Date(r.time).toISOString().slice(11, 23)
  const text =
    r.event === 'admin_change'
      ? `${t} ${r.actor} ${r.change} ${r.target ?? ''} v${r.versionBefore}→v${r.versionAfter}`
      : `${t} ${r.allow ? 'ALLOW' : 'DENY '} ${r.transport} ${r.sub ?? '-'} ${r.action} ${r.resource} · ${r.reason} · v${r.version} · ${r.durationUs}µs`
  const line = el('div', {
    className: r.event === 'admin_change' ? 'change' : r.allow ? 'allow' : 'deny',
    textContent: text,
  })
  $('audit').prepend(line)
  while ($('audit').childElementCount > 200) $('audit').lastElementChild.remove()
}

async function drawChart() {
  const points = await (await fetch('/demo/latencies')).json()
  const svg = $('chart')
  svg.replaceChildren()
  if (points.length === 0) {
    $('chart-summary').textContent = 'No revocations or step-downs measured yet.'
    return
  }
  const max = Math.max(5, ...points.map((p) => p.latencyMs))
  const w = 400 / Math.max(points.length, 20)
  points.forEach((p, i) => {
    const h = Math.max(2, (p.latencyMs / max) * 120)
    const rect = document.createElementNS('http://www.w3.org/2000/svg', 'rect')
    rect.setAttribute('x', String(i * w + 1))
    rect.setAttribute('y', String(130 - h))
    rect.setAttribute('width', String(Math.max(2, w - 2)))
    rect.setAttribute('height', String(h))
    rect.setAttribute('rx', '2')
    rect.setAttribute(
      'fill',
      p.kind === 'revoked' ? '#f87171' : p.kind === 'step-down' ? '#fbbf24' : '#4ade80',
    )
    const title = document.createElementNS('http://www.w3.org/2000/svg', 'title')
    title.textContent = `${p.kind} ${p.sub}: ${p.latencyMs} ms (v${p.version})`
    rect.append(title)
    svg.append(rect)
  })
  const sorted = points.map((p) => p.latencyMs).sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)]
  $('chart-summary').textContent =
    `${points.length} measured · median ${median} ms · max ${sorted.at(-1)} ms`
}

async function enter(session) {
  $('signin').hidden = true
  $('console').hidden = false
  $('who').hidden = false
  $('who').textContent = 'Carol · admin'
  vigil = createVigilClient({ url: location.origin, session })
  vigil.socket.on('connect', () => {
    $('conn').className = 'pill live'
    $('conn').textContent = 'live'
  })
  vigil.socket.on('disconnect', () => {
    $('conn').className = 'pill dead'
    $('conn').textContent = 'offline'
  })
  vigil.on('revoked', (e) => {
    $('action-status').textContent = `This admin session was revoked (${e.reason}).`
  })
  $('policy').addEventListener('input', () => (policyDirty = true))
  $('policy-save').onclick = savePolicy
  $('policy-reload').onclick = loadPolicy
  $('rotate').onclick = async () => {
    await act('Rotate signing keys', '/v1/keys/rotate', { method: 'POST' })
    await loadKeys()
  }
  await Promise.all([refreshSessions(), loadPolicy(), loadKeys(), drawChart()])
  tailAudit()
  setInterval(refreshSessions, 1000)
  setInterval(drawChart, 1000)
}

$('signin-carol').onclick = async () => {
  const res = await fetch('/demo/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: 'carol' }),
  })
  const body = await res.json()
  if (!res.ok) {
    $('signin-status').textContent = body.error?.message ?? 'sign-in failed'
    return
  }
  await enter(body.session)
}
