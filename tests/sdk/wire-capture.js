#!/usr/bin/env node
/*
 * wire-capture.js -- a fake mod_cloudbase gateway in node, used for two things:
 *
 *  1. Wire study (default mode): starts the fake gateway on an ephemeral
 *     127.0.0.1 port, drives the official @cloudbase/js-sdk (node build)
 *     against it through a fixed scenario (anonymous sign-in, user info,
 *     forced refresh in several ways, invalid_grant recovery, callFunction,
 *     callContainer, signOut, signInWithPassword, ...) and prints one JSON line
 *     per HTTP request the SDK made (method, path, query, headers, body, status,
 *     response) interleaved with {"step": ...} lines saying which SDK call
 *     produced them and what the SDK returned.  WIRE.md was written from this.
 *
 *       node wire-capture.js [--out FILE] [--env demo]
 *
 *  2. Stand-in gateway for auth-sdk-test.js (--serve): answers the auth routes
 *     like mod_cloudbase's auth plugin is meant to (per API-NOTES.md), with
 *     refresh-token rotation and revocation kept in memory, so the test's
 *     assertions are meaningful without the real gateway.
 *
 *       node wire-capture.js --serve PORT [--log FILE|--quiet] [--expires-in N] [--fault LIST]
 *       (PORT 0 picks a free port; the chosen port is printed on stderr)
 *       GATEWAY=127.0.0.1:PORT node auth-sdk-test.js
 *
 * Users known to the fake server: SDK_USERNAME/SDK_PASSWORD from the
 * environment (default sdk_user / sdk_password_1).
 * Nothing here talks to anything but 127.0.0.1.
 */
'use strict'

const http = require('http')
const crypto = require('crypto')
const fs = require('fs')

const DEFAULT_USERNAME = 'sdk_user'
const DEFAULT_PASSWORD = 'sdk_password_1'

// ---------------------------------------------------------------------------
// fake gateway
// ---------------------------------------------------------------------------

function b64url(buf) {
  return Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
}

function createFakeGateway(opts = {}) {
  const env = opts.env || 'demo'
  // fault injection, to prove auth-sdk-test.js notices a broken gateway:
  //   no-rotation  refresh keeps the old refresh token valid
  //   no-revoke    /auth/v1/revoke and /auth/v1/user/signout answer {} but revoke nothing
  //   html-errors  auth errors come back as text/html instead of {error, error_description}
  //   anon-name    /user/me for anonymous users has name "guest" instead of "anonymous"
  const faults = new Set(opts.faults || [])
  const secret = crypto.randomBytes(32)
  const state = {
    env,
    expiresIn: opts.expiresIn || 7200,
    users: new Map(), // sub -> user
    byName: new Map(), // username -> sub
    sessions: new Map(), // sid -> {sid, sub, scope, revoked, refresh}
    access: new Map(), // access token -> {sid, exp}
    refresh: new Map(), // current refresh token -> sid
    retiredRefresh: new Set(), // refresh tokens rotated away or revoked
    seq: 0,
  }
  const logSinks = []
  const onLog = (fn) => logSinks.push(fn)

  function now() { return Math.floor(Date.now() / 1000) }
  function iso() { return new Date().toISOString() }

  function addUser(u) {
    const sub = u.sub || crypto.randomBytes(8).toString('hex')
    const user = {
      sub,
      name: u.name || u.username || '',
      picture: '',
      username: u.username || '',
      email: '',
      phone_number: '',
      providers: [],
      status: 'ACTIVE',
      groups: [{ id: u.anonymous ? 'anonymous' : 'user' }],
      meta: {},
      created_at: iso(),
      updated_at: iso(),
      user_id: sub,
      has_password: !!u.password,
      password: u.password,
      anonymous: !!u.anonymous,
    }
    state.users.set(sub, user)
    if (user.username) state.byName.set(user.username, sub)
    return user
  }
  addUser({ username: process.env.SDK_USERNAME || DEFAULT_USERNAME, password: process.env.SDK_PASSWORD || DEFAULT_PASSWORD })
  for (const u of opts.users || []) addUser(u)

  function signJwt(payload) {
    const h = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'fake' }))
    const p = b64url(JSON.stringify(payload))
    const s = b64url(crypto.createHmac('sha256', secret).update(`${h}.${p}`).digest())
    return `${h}.${p}.${s}`
  }

  function issue(sid, sub, scope) {
    const sess = state.sessions.get(sid)
    const user = state.users.get(sub)
    const expiresIn = state.expiresIn
    const at = signJwt({ iss: `https://${env}.api.tcloudbasegateway.com`, sub, aud: env, scope, project_id: env,
      iat: now(), exp: now() + expiresIn, jti: crypto.randomBytes(8).toString('hex') })
    const rt = crypto.randomBytes(32).toString('hex') // 64 chars (< 128)
    state.access.set(at, { sid, exp: now() + expiresIn })
    if (sess.refresh && !faults.has('no-rotation')) { state.refresh.delete(sess.refresh); state.retiredRefresh.add(sess.refresh) }
    sess.refresh = rt
    state.refresh.set(rt, sid)
    return {
      token_type: 'Bearer',
      access_token: at,
      refresh_token: rt,
      expires_in: expiresIn,
      scope,
      sub,
      groups: scope === 'anonymous' ? [] : (user.groups || []).map(g => g.id),
    }
  }

  function newSession(user, scope) {
    const sid = crypto.randomBytes(8).toString('hex')
    state.sessions.set(sid, { sid, sub: user.sub, scope, revoked: false, refresh: null })
    return issue(sid, user.sub, scope)
  }

  function revokeSession(sid, fromClient) {
    const sess = state.sessions.get(sid)
    if (!sess || (fromClient && faults.has('no-revoke'))) return
    sess.revoked = true
    if (sess.refresh) { state.refresh.delete(sess.refresh); state.retiredRefresh.add(sess.refresh) }
    sess.refresh = null
  }

  // access-token lookup: returns {sess, user} or an error string
  function checkBearer(req) {
    const h = req.headers.authorization || ''
    const m = /^Bearer\s+(\S+)$/i.exec(h)
    if (!m) return 'missing bearer token'
    const a = state.access.get(m[1])
    if (!a) return 'invalid access token'
    if (a.exp <= now()) return 'access token expired'
    const sess = state.sessions.get(a.sid)
    if (!sess || sess.revoked) return 'access token revoked'
    return { sess, user: state.users.get(sess.sub), token: m[1] }
  }

  function publicUser(u) {
    const { password, anonymous, ...rest } = u
    return rest
  }

  function route(req, url, body, reply) {
    const p = url.pathname
    const method = req.method
    const authErr = (status, error, desc) => (faults.has('html-errors')
      ? reply(status, `<html><body>${status} ${error}</body></html>`, 'text/html')
      : reply(status, { error, error_description: desc }))
    const gwErr = (status, code, message) => reply(status, { code, message, requestId: req.__rid })

    // ---- auth ------------------------------------------------------------
    if (p.startsWith('/auth/')) {
      if (body.__invalid) return authErr(400, 'invalid_request', 'body is not JSON')
      const b = body.value && typeof body.value === 'object' ? body.value : {}

      if (method === 'POST' && p === '/auth/v1/signin/anonymously') {
        const dev = req.headers['x-device-id'] || ''
        if (dev.length < 16 || dev.length > 48) return authErr(400, 'invalid_request', 'x-device-id must be 16-48 chars')
        const user = addUser({ name: faults.has('anon-name') ? 'guest' : 'anonymous', anonymous: true })
        return reply(200, newSession(user, 'anonymous'))
      }
      if (method === 'POST' && p === '/auth/v1/signin') {
        const { username, password } = b
        if (typeof username !== 'string' || username.length < 2 || username.length > 48 || typeof password !== 'string') {
          return authErr(400, 'invalid_request', 'username (2-48 chars) and password are required')
        }
        const sub = state.byName.get(username)
        const user = sub && state.users.get(sub)
        if (!user || user.password !== password) return authErr(400, 'invalid_grant', 'invalid username or password')
        return reply(200, newSession(user, 'user'))
      }
      if (method === 'POST' && p === '/auth/v1/token') {
        if (b.grant_type === 'refresh_token') {
          const rt = b.refresh_token
          const sid = typeof rt === 'string' && state.refresh.get(rt)
          if (!sid) return authErr(400, 'invalid_grant', 'refresh token invalid, expired or already used')
          const sess = state.sessions.get(sid)
          if (!sess || sess.revoked) return authErr(400, 'invalid_grant', 'session revoked')
          return reply(200, issue(sid, sess.sub, sess.scope))
        }
        if (b.grant_type === 'password') {
          const sub = state.byName.get(b.username)
          const user = sub && state.users.get(sub)
          if (!user || user.password !== b.password) return authErr(400, 'invalid_grant', 'invalid username or password')
          return reply(200, newSession(user, 'user'))
        }
        return authErr(400, 'unsupported_grant_type', `grant_type ${b.grant_type} not supported here`)
      }
      if (method === 'POST' && p === '/auth/v1/token/clientCredential') {
        const u = addUser({ name: 'client', anonymous: false })
        const t = newSession(u, 'client_credentials')
        delete t.refresh_token
        return reply(200, t)
      }
      if (method === 'POST' && p === '/auth/v1/revoke') {
        const tok = b.token
        const a = typeof tok === 'string' && state.access.get(tok)
        const rsid = typeof tok === 'string' && state.refresh.get(tok)
        if (a) revokeSession(a.sid, true)
        else if (rsid) revokeSession(rsid, true)
        return reply(200, {})
      }
      if (method === 'POST' && p === '/auth/v1/user/signout') {
        const c = checkBearer(req)
        if (typeof c === 'string') return authErr(401, 'unauthenticated', c)
        revokeSession(c.sess.sid, true)
        return reply(200, {})
      }
      if (method === 'GET' && p === '/auth/v1/user/me') {
        const c = checkBearer(req)
        if (typeof c === 'string') return authErr(401, 'unauthenticated', c)
        return reply(200, publicUser(c.user))
      }
      return authErr(404, 'not_found', `no auth route ${method} ${p}`)
    }

    // ---- everything else (gateway) -----------------------------------------
    const fm = /^\/v1\/functions\/([^/]+)$/.exec(p)
    if (fm && method === 'POST') {
      const c = checkBearer(req)
      if (typeof c === 'string') return gwErr(401, 'PERMISSION_DENIED', c)
      const name = decodeURIComponent(fm[1])
      const args = body.value && typeof body.value === 'object' ? body.value : {}
      if (name === 'add-two') return reply(200, { sum: Number(args.a) + Number(args.b) })
      if (name === 'fails') return reply(200, { code: 'FUNCTIONS_EXECUTE_FAIL', message: 'function threw', requestId: req.__rid })
      return gwErr(404, 'RESOURCE_NOT_FOUND', `function ${name} not found`)
    }
    const cm = /^\/v1\/cloudrun\/([^/]+)(\/.*)?$/.exec(p)
    if (cm) {
      const c = checkBearer(req)
      if (typeof c === 'string') return gwErr(401, 'PERMISSION_DENIED', c)
      return reply(200, { service: cm[1], method, path: cm[2] || '/', query: Object.fromEntries(url.searchParams),
        xCustom: req.headers['x-custom'] || null, body: body.value === undefined ? null : body.value })
    }
    if (/^\/v1\/model\//.test(p)) {
      const c = checkBearer(req)
      if (typeof c === 'string') return gwErr(401, 'PERMISSION_DENIED', c)
      return reply(200, { data: { records: [], total: 0 }, requestId: req.__rid })
    }
    return gwErr(404, 'SERVICE_NOT_FOUND', `no route ${method} ${p}`)
  }

  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', c => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      const url = new URL(req.url, 'http://x')
      const body = {}
      if (raw.length) {
        try { body.value = JSON.parse(raw) } catch (e) { body.value = raw; body.__invalid = true }
      }
      req.__rid = req.headers['x-request-id'] || crypto.randomUUID()
      const rec = {
        seq: ++state.seq,
        method: req.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: raw.length ? body.value : null,
      }
      const reply = (status, obj, ctype) => {
        const out = typeof obj === 'string' ? obj : JSON.stringify(obj)
        res.writeHead(status, {
          'Content-Type': ctype || 'application/json; charset=utf-8',
          'X-Request-Id': req.__rid,
          'Content-Length': Buffer.byteLength(out),
        })
        res.end(out)
        rec.status = status
        rec.response = obj
        for (const fn of logSinks) fn(rec)
      }
      try {
        route(req, url, body, reply)
      } catch (e) {
        reply(500, { code: 'SYS_ERR', message: String(e && e.stack || e), requestId: req.__rid })
      }
    })
  })

  return { server, state, onLog, revokeSession, addUser }
}

module.exports = { createFakeGateway, DEFAULT_USERNAME, DEFAULT_PASSWORD }

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------

function parseArgs(argv) {
  const a = { mode: 'capture', out: null, log: null, quiet: false, env: 'demo', expiresIn: 7200, port: 0, faults: [] }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    if (k === '--serve') { a.mode = 'serve'; a.port = Number(argv[++i]) }
    else if (k === '--out') a.out = argv[++i]
    else if (k === '--log') a.log = argv[++i]
    else if (k === '--quiet') a.quiet = true
    else if (k === '--env') a.env = argv[++i]
    else if (k === '--expires-in') a.expiresIn = Number(argv[++i])
    else if (k === '--fault') a.faults.push(...argv[++i].split(','))
    else if (k === '-h' || k === '--help') { a.mode = 'help' }
    else { console.error(`unknown argument ${k}`); process.exit(2) }
  }
  return a
}

function serve(a) {
  const gw = createFakeGateway({ env: a.env, expiresIn: a.expiresIn, faults: a.faults })
  let sink = null
  if (a.log) sink = fs.createWriteStream(a.log, { flags: 'a' })
  else if (!a.quiet) sink = process.stdout
  if (sink) gw.onLog(rec => sink.write(`${JSON.stringify(rec)}\n`))
  gw.server.on('error', (e) => {
    process.stderr.write(`fake gateway: cannot listen on 127.0.0.1:${a.port}: ${e.code || e.message}\n`)
    process.exit(2)
  })
  gw.server.listen(a.port, '127.0.0.1', () => {
    process.stderr.write(`fake gateway listening on 127.0.0.1:${gw.server.address().port} (env ${a.env}, expires_in ${a.expiresIn}${a.faults.length ? `, faults ${a.faults.join(',')}` : ''})\n`)
  })
  const stop = () => { gw.server.close(); process.exit(0) }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

// Drive the SDK through the scenario and log everything.
async function capture(a) {
  // Make sure the node adapter does not pick up server-side credentials from the
  // environment (it would then sign requests / use accessKey instead of acting
  // like a browser client).
  for (const k of ['TENCENTCLOUD_SECRETID', 'TENCENTCLOUD_SECRETKEY', 'TENCENTCLOUD_SESSIONTOKEN', 'CLOUDBASE_APIKEY',
    'TCB_CONTEXT_KEYS', 'TCB_CONTEXT_CNFG', 'TENCENTCLOUD_RUNENV', 'TCB_ENV', 'SCF_NAMESPACE']) delete process.env[k]

  // the SDK prints hints/warnings through console.*: keep them off the JSON lines
  for (const k of ['log', 'info', 'warn', 'debug', 'error']) console[k] = (...x) => process.stderr.write(`${x.map(String).join(' ')}\n`)
  const out = a.out ? fs.createWriteStream(a.out) : process.stdout
  const emit = obj => out.write(`${JSON.stringify(obj)}\n`)
  const gw = createFakeGateway({ env: a.env, expiresIn: a.expiresIn })
  gw.onLog(rec => emit({ req: rec }))
  await new Promise(r => gw.server.listen(0, '127.0.0.1', r))
  const host = `127.0.0.1:${gw.server.address().port}`

  const cloudbase = require('@cloudbase/js-sdk')
  const username = process.env.SDK_USERNAME || DEFAULT_USERNAME
  const password = process.env.SDK_PASSWORD || DEFAULT_PASSWORD

  const step = async (name, fn, note) => {
    emit({ step: name, note })
    try {
      const r = await fn()
      emit({ step: name, result: summarize(r) })
      return r
    } catch (e) {
      emit({ step: name, threw: summarize(e) })
      return undefined
    }
  }

  emit({ step: 'init', note: 'cloudbase.init({env}); app.registerHost(host, "http")' })
  const app = cloudbase.init({ env: a.env })
  app.registerHost(host, 'http')
  emit({ step: 'init', result: { CLOUD_API: app.getEndPointWithKey('CLOUD_API'), GATEWAY: app.getEndPointWithKey('GATEWAY') } })
  const auth = app.auth()
  const oc = () => auth.oauthInstance.oauth2client
  const creds = async () => (await auth.getSession()).data.session || null

  await step('callFunction (nobody signed in)', () => app.callFunction({ name: 'add-two', data: { a: 1, b: 101 } }))
  await step('signInAnonymously', () => auth.signInAnonymously())
  await step('auth.currentUser (sync getter, no request)', () => auth.currentUser)
  await step('getUserInfo', () => auth.getUserInfo())
  await step('getUser', () => auth.getUser())
  await step('getSession', () => auth.getSession())
  await step('getClaims (decodes the access token as a JWT, no request)', () => auth.getClaims())
  await step('loginScope', () => auth.loginScope())

  await step('refreshSession', () => auth.refreshSession(), 'supabase-style: refresh regardless of expiry')
  await step('refreshTokenForce', () => auth.refreshTokenForce({}), 'v2-style forced refresh')
  await step('expire cached token, then getUserInfo', async () => {
    const c = await creds()
    const { user, ...raw } = c
    await auth.setCredentials({ ...raw, expires_at: new Date(Date.now() - 1000) })
    return auth.getUserInfo()
  }, 'auth.setCredentials({...session, expires_at: past}) -- the SDK refreshes before the next authenticated call')

  gw.state.expiresIn = 30
  await step('server answers expires_in=30 (refreshSession)', () => auth.refreshSession(),
    'expires_at = now + (expires_in - 30) s, so expires_in <= 30 means already expired')
  await step('getUserInfo with expires_in=30 token', () => auth.getUserInfo())
  await step('getUserInfo again', () => auth.getUserInfo())
  gw.state.expiresIn = a.expiresIn
  await step('refreshSession (back to normal expires_in)', () => auth.refreshSession())

  await step('invalid_grant on refresh (anonymous session)', async () => {
    const c = await creds()
    const sid = gw.state.refresh.get(c.refresh_token)
    gw.revokeSession(sid) // server-side revocation the SDK does not know about
    const { user, ...raw } = c
    await auth.setCredentials({ ...raw, expires_at: new Date(Date.now() - 1000) })
    const info = await auth.getUserInfo()
    const after = await creds()
    return { info, sameSub: after && after.sub === c.sub, newScope: after && after.scope }
  }, 'server revokes the session; local token expired; SDK refresh gets invalid_grant')

  await step('callFunction add-two', () => app.callFunction({ name: 'add-two', data: { a: 1, b: 101 } }))
  await step('callFunction returning {code,message}', () => app.callFunction({ name: 'fails', data: {} }))
  await step('callFunction unknown (404 {code})', () => app.callFunction({ name: 'nope', data: {} }))
  await step('callContainer POST', () => app.callContainer({ name: 'helloworld', method: 'POST', path: '/echo/x',
    header: { 'X-Custom': 'yes' }, data: { x: 1 } }))
  await step('callContainer GET', () => app.callContainer({ name: 'helloworld', method: 'GET', path: '/echo',
    header: { 'X-Custom': 'yes' }, data: { q: 'a b', n: 2 } }))

  await step('me answers 401 unauthenticated (server-side revoke, local token still "valid")', async () => {
    const c = await creds()
    gw.revokeSession(gw.state.access.get(c.access_token).sid)
    const info = await auth.getUserInfo()
    return { info, sessionAfter: await creds() }
  })

  await step('signInAnonymously (again)', () => auth.signInAnonymously())
  const beforeOut = await creds()
  await step('signOut()', () => auth.signOut())
  await step('after signOut: getSession', () => auth.getSession())
  await step('after signOut: getUserInfo', () => auth.getUserInfo())
  await step('after signOut: callFunction', () => app.callFunction({ name: 'add-two', data: { a: 1, b: 101 } }))
  emit({ note: 'access token before signOut still accepted by fake server?', accepted: !!(beforeOut && gw.state.access.get(beforeOut.access_token) && !gw.state.sessions.get(gw.state.access.get(beforeOut.access_token).sid).revoked) })

  await step('signInWithPassword wrong password', () => auth.signInWithPassword({ username, password: 'wrong-password' }))
  await step('signInWithPassword', () => auth.signInWithPassword({ username, password }))
  await step('getUserInfo (password user)', () => auth.getUserInfo())
  await step('invalid_grant on refresh (user session)', async () => {
    const c = await creds()
    gw.revokeSession(gw.state.refresh.get(c.refresh_token))
    const r = await auth.refreshSession()
    return { refreshSession: r, sessionAfter: await creds() }
  })
  await step('signInWithPassword (again)', () => auth.signInWithPassword({ username, password }))
  await step('signOut({}) -- with a params object', () => auth.signOut({}))
  await step('signInWithPassword (again)', () => auth.signInWithPassword({ username, password }))
  await step('signOut()', () => auth.signOut())

  await step('models list with nobody signed in', async () => {
    if (!app.models) return 'app.models not present'
    const m = app.models.post
    return m.list({ filter: { where: {} }, pageSize: 3 })
  })

  emit({ done: true, sdk: cloudbase.version })
  if (out !== process.stdout) await new Promise(r => out.end(r))
  process.exit(0)
}

// Keep step results readable: drop huge/looping objects, keep the data.
function summarize(v, depth = 0) {
  if (v === null || v === undefined) return v
  if (v instanceof Error) {
    return { error: v.name, message: v.message, code: v.code, category: v.category, status: v.status }
  }
  if (typeof v === 'function') return '[function]'
  if (typeof v !== 'object') return v
  if (v instanceof Date) return v.toISOString()
  if (depth > 4) return '[…]'
  if (Array.isArray(v)) return v.map(x => summarize(x, depth + 1))
  const o = {}
  for (const k of Object.keys(v)) {
    if (['cache', 'oauthInstance', '_fromApp', 'config', 'request'].includes(k)) continue
    o[k] = summarize(v[k], depth + 1)
  }
  return o
}

if (require.main === module) {
  const a = parseArgs(process.argv.slice(2))
  if (a.mode === 'help') {
    console.log('usage: node wire-capture.js [--out FILE] [--env ENV] [--expires-in N]\n'
      + '       node wire-capture.js --serve PORT [--log FILE | --quiet] [--env ENV] [--expires-in N]\n'
      + '                            [--fault no-rotation,no-revoke,html-errors,anon-name]')
    process.exit(0)
  }
  if (a.mode === 'serve') serve(a)
  else capture(a).catch((e) => { console.error(e); process.exit(1) })
}
