// The user's workspace: a live document edited over the enforced socket, saved over HTTP and
// exported as a long stream — everything through the Vigil SDK, so access can drop mid-workflow.
import { createVigilClient } from '/sdk/vigil.js'

const $ = (id) => document.getElementById(id)
const DOC = '1'
const STORAGE_KEY = 'vigil-demo:session'
let vigil = null
let user = null
let exporting = null

function log(text, kind = '') {
  const li = document.createElement('li')
  const time = document.createElement('time')
  time.textContent = new Date().toLocaleTimeString()
  const span = document.createElement('span')
  span.textContent = text
  if (kind) span.className = kind
  li.append(time, span)
  $('timeline').prepend(li)
}

function status(text) {
  $('status').textContent = text
}

function showBanner(kind, title, body, latencyMs) {
  const b = $('banner')
  b.className = `banner show ${kind}`
  b.replaceChildren()
  const strong = document.createElement('strong')
  strong.textContent = title
  const p = document.createElement('div')
  p.textContent = body
  b.append(strong, p)
  if (latencyMs !== undefined) {
    const l = document.createElement('div')
    l.className = 'latency'
    l.dataset.testid = 'latency'
    l.textContent = `${latencyMs} ms from policy write to teardown`
    b.append(l)
  }
}

function renderCaps(capabilities, removed = []) {
  const box = $('caps')
  box.replaceChildren()
  for (const p of capabilities.allow) {
    const c = document.createElement('span')
    c.className = 'chip'
    c.textContent = `${p.action} · ${p.resource}`
    box.append(c)
  }
  for (const p of capabilities.deny) {
    const c = document.createElement('span')
    c.className = 'chip deny'
    c.textContent = `¬ ${p.action} · ${p.resource}`
    box.append(c)
  }
  for (const p of removed) {
    const c = document.createElement('span')
    c.className = 'chip gone'
    c.textContent = `${p.action} · ${p.resource}`
    box.append(c)
  }
  $('s-roles').textContent = capabilities.roles.join(', ') || '—'
}

function applyPermissions() {
  const canWrite = vigil?.can('doc:write', `doc/${DOC}`) ?? false
  const canExport = vigil?.can('doc:export', `doc/${DOC}`) ?? false
  $('editor').disabled = !canWrite
  $('save').disabled = !canWrite
  $('export').disabled = !canExport || exporting !== null
  $('editor').title = canWrite ? '' : 'You may read this document but not edit it'
}

function report(kind, event) {
  const latencyMs = Math.max(0, Date.now() - event.at)
  fetch('/demo/telemetry', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind, sub: user?.sub ?? '?', latencyMs, version: event.version }),
  }).catch(() => {})
  return latencyMs
}

async function loadDoc() {
  const res = await vigil.fetch(`/api/docs/${DOC}`, { permission: 'doc:read' })
  if (!res.ok) throw new Error(`could not load the document (${res.status})`)
  const doc = await res.json()
  $('doc-title').textContent = doc.title
  $('doc-meta').textContent = `v${doc.version} · last edit by ${doc.updatedBy}`
  $('editor').value = doc.text
}

let editTimer = null
function onType() {
  clearTimeout(editTimer)
  editTimer = setTimeout(async () => {
    try {
      const ack = await vigil.emit('doc:edit', { docId: DOC, text: $('editor').value })
      status(`Live edit delivered (doc v${ack?.version ?? ack?.data?.version ?? '?'})`)
    } catch (err) {
      status(`Edit refused: ${err.code ?? err.message}`)
      log(`edit refused (${err.code ?? err.message})`, 'bad')
    }
  }, 150)
}

async function save() {
  status('Saving…')
  try {
    const res = await vigil.fetch(`/api/docs/${DOC}`, {
      method: 'PUT',
      permission: 'doc:write',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: $('editor').value }),
    })
    const body = await res.json()
    if (!res.ok) return status(`Save refused: ${body.error?.code}`)
    status(`Saved as v${body.version}`)
    $('doc-meta').textContent = `v${body.version} · last edit by ${body.updatedBy}`
  } catch (err) {
    status(`Save aborted: ${err.code ?? err.name}`)
    log(`save aborted (${err.code ?? err.name})`, 'bad')
  }
}

async function exportDoc() {
  const bar = $('export-progress')
  bar.hidden = false
  bar.classList.remove('aborted')
  bar.firstElementChild.style.width = '0%'
  exporting = true
  applyPermissions()
  status('Exporting…')
  log('export started')
  try {
    const res = await vigil.fetch(`/api/docs/${DOC}/export`, { permission: 'doc:export' })
    if (!res.ok) throw Object.assign(new Error('export refused'), { code: res.status })
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffered = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffered += value
      const lines = buffered.split('\n')
      buffered = lines.pop()
      for (const line of lines.filter(Boolean)) {
        const msg = JSON.parse(line)
        if (msg.error) throw Object.assign(new Error(msg.error.message), { code: msg.error.code })
        if (msg.progress !== undefined) {
          bar.firstElementChild.style.width = `${Math.round(msg.progress * 100)}%`
          bar.dataset.progress = String(msg.progress)
        }
        if (msg.done) {
          status('Export complete.')
          log('export complete', 'ok')
        }
      }
    }
  } catch (err) {
    bar.classList.add('aborted')
    bar.dataset.aborted = 'true'
    status(`Export stopped: ${err.code ?? err.name}`)
    log(`export stopped mid-stream (${err.code ?? err.name})`, 'bad')
  } finally {
    exporting = null
    applyPermissions()
  }
}

function start(session) {
  vigil = createVigilClient({
    url: location.origin,
    ...(session ? { session } : {}),
    storage: window.localStorage,
    storageKey: STORAGE_KEY,
  })
  window.vigil = vigil
  vigil.on('capabilities', (e) => {
    renderCaps(e.capabilities)
    $('version').textContent = `policy v${e.version}`
    applyPermissions()
    log(`connected · ${e.capabilities.roles.join(', ') || 'no roles'}`)
  })
  vigil.on('step-down', (e) => {
    const ms = report('step-down', e)
    renderCaps(e.capabilities, e.removed)
    $('version').textContent = `policy v${e.version}`
    applyPermissions()
    const what = e.removed.map((p) => `${p.action} on ${p.resource}`).join(', ')
    showBanner('warn', 'Your access was narrowed', `Removed: ${what} — policy v${e.version}.`, ms)
    log(`step-down: ${what} removed (v${e.version}, ${ms} ms)`, 'warn')
  })
  vigil.on('step-up', (e) => {
    report('step-up', e)
    renderCaps(e.capabilities)
    $('version').textContent = `policy v${e.version}`
    applyPermissions()
    $('banner').className = 'banner'
    log(`step-up: ${e.added.map((p) => p.action).join(', ')} granted (v${e.version})`, 'ok')
  })
  vigil.on('revoked', (e) => {
    const ms = report('revoked', e)
    $('editor').disabled = true
    $('save').disabled = true
    $('export').disabled = true
    document.body.dataset.revoked = 'true'
    $('version').textContent = `policy v${e.version}`
    showBanner('bad', 'Access revoked', `Reason: ${e.reason}. Your session has ended.`, ms)
    log(`revoked: ${e.reason} (v${e.version}, ${ms} ms)`, 'bad')
  })
  vigil.on('expired', () => {
    showBanner('bad', 'Session expired', 'Sign in again to continue.')
    document.body.dataset.revoked = 'true'
  })
  vigil.onTeardown(() => {
    setConn(false)
    $('s-exp').textContent = 'tokens wiped'
  })
  vigil.socket.on('connect', () => setConn(true))
  vigil.socket.on('disconnect', () => setConn(false))
  vigil.socket.on('doc:update', (doc) => {
    if (doc.id !== DOC || document.activeElement === $('editor')) return
    $('editor').value = doc.text
    $('doc-meta').textContent = `v${doc.version} · live edit by ${doc.updatedBy}`
  })
  return vigil
}

function setConn(up) {
  $('conn').className = `pill ${up ? 'live' : 'dead'}`
  $('conn').textContent = up ? 'live' : 'offline'
}

async function enter(session, who) {
  user = who
  $('signin').hidden = true
  $('workspace').hidden = false
  $('who').hidden = false
  $('signout').hidden = false
  $('who').textContent = `${who.name} · ${who.title}`
  $('s-sub').textContent = who.sub
  $('s-sid').textContent = session?.session_id ?? 'restored'
  start(session)
  await loadDoc().catch((err) => status(err.message))
  applyPermissions()
  const exp = JSON.parse(atob(vigilToken().split('.')[1].replace(/-/g, '+').replace(/_/g, '/')))
  $('s-exp').textContent = new Date(exp.exp * 1000).toLocaleTimeString()
}

function vigilToken() {
  const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}')
  return stored.access_token ?? ''
}

async function signIn(sub) {
  const res = await fetch('/demo/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub }),
  })
  const body = await res.json()
  if (!res.ok) return status(body.error?.message ?? 'sign-in failed')
  localStorage.setItem('vigil-demo:user', JSON.stringify(body.user))
  await enter(body.session, body.user)
}

async function init() {
  const users = await (await fetch('/demo/users')).json()
  for (const u of users) {
    const b = document.createElement('button')
    b.className = 'user-card'
    b.dataset.testid = `signin-${u.sub}`
    b.innerHTML = `<span class="avatar"></span><strong></strong><small></small>`
    b.querySelector('.avatar').textContent = u.name[0]
    b.querySelector('strong').textContent = u.name
    b.querySelector('small').textContent = `${u.title} · ${u.role}`
    b.onclick = () => signIn(u.sub)
    $('users').append(b)
  }
  $('editor').addEventListener('input', onType)
  $('save').onclick = save
  $('export').onclick = exportDoc
  $('signout').onclick = () => {
    vigil?.close()
    localStorage.removeItem(STORAGE_KEY)
    localStorage.removeItem('vigil-demo:user')
    location.reload()
  }
  // Another tab of the same session (or a reload) resumes from the stored session.
  const who = JSON.parse(localStorage.getItem('vigil-demo:user') ?? 'null')
  if (who && localStorage.getItem(STORAGE_KEY)) await enter(undefined, who)
}

init()
