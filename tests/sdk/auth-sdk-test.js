#!/usr/bin/env node
/*
 * auth-sdk-test.js -- real-client test of mod_cloudbase's auth plugin: drives
 * the official @cloudbase/js-sdk (node build, version pinned in package.json)
 * against a running gateway and checks the sign-in / refresh / sign-out
 * contract the SDK depends on (see WIRE.md next to this file).
 *
 *   cd tests/sdk && npm ci
 *   GATEWAY=127.0.0.1:8080 CLOUDBASE_ENV=demo SDK_USERNAME=u SDK_PASSWORD=p node auth-sdk-test.js
 *
 * Environment:
 *   GATEWAY        host[:port][/prefix] of the gateway, optionally with http:// or
 *                  https:// (default 127.0.0.1:8080, http).  Auth calls always go to
 *                  the origin (/auth/v1/...), as the SDK does.
 *   CLOUDBASE_ENV  env id passed to cloudbase.init (default demo)
 *   SDK_USERNAME / SDK_PASSWORD  an existing username/password user
 *                  (default sdk_user / sdk_password_1, which the fake server knows)
 *   SDK_TIMEOUT_MS per-call timeout (default 15000)
 *   SDK_CACHE_WAIT_MS  how long to wait after a sign-out before checking that
 *                  the old token is refused: the gateway's verified-session
 *                  cache bound (auth session_cache_ttl) plus a margin (default 0)
 *   SDK_VERBOSE=1  let the SDK's own console output through (to stderr)
 *
 * Output: one line per check ("ok - ..." / "FAIL - ...: detail"), then exactly
 * "sdk: N passed, M failed".  Exit status 0 when nothing failed, else 1.
 *
 * Without the real gateway:  node wire-capture.js --serve 18080 --quiet &
 *                            GATEWAY=127.0.0.1:18080 node auth-sdk-test.js
 */
'use strict'

const crypto = require('crypto')

// --- configuration ----------------------------------------------------------
const rawGateway = process.env.GATEWAY || '127.0.0.1:8080'
const protocol = /^https:\/\//i.test(rawGateway) ? 'https' : 'http'
const hostAndPrefix = rawGateway.replace(/^https?:\/\//i, '').replace(/\/+$/, '')
const hostOnly = hostAndPrefix.split('/')[0]
const origin = `${protocol}://${hostOnly}`
const ENV = process.env.CLOUDBASE_ENV || 'demo'
const USERNAME = process.env.SDK_USERNAME || 'sdk_user'
const PASSWORD = process.env.SDK_PASSWORD || 'sdk_password_1'
const CALL_TIMEOUT = Number(process.env.SDK_TIMEOUT_MS || 15000)
const CACHE_WAIT = Number(process.env.SDK_CACHE_WAIT_MS || 0)
const waitForCacheBound = () => new Promise(resolve => setTimeout(resolve, CACHE_WAIT))
const VERBOSE = !!process.env.SDK_VERBOSE

// --- reporting --------------------------------------------------------------
let passed = 0
let failed = 0
const out = s => process.stdout.write(`${s}\n`)
function check(name, cond, detail) {
  if (cond) { passed++; out(`ok - ${name}`) } else {
    failed++
    out(`FAIL - ${name}${detail !== undefined ? `: ${String(detail).replace(/\s+/g, ' ')}` : ''}`)
  }
  return !!cond
}
function finish() {
  out(`sdk: ${passed} passed, ${failed} failed`)
  process.exit(failed === 0 && passed > 0 ? 0 : 1)
}
const short = v => {
  let s
  try { s = typeof v === 'string' ? v : JSON.stringify(v) } catch (e) { s = String(v) }
  s = String(s).replace(/\s+/g, ' ') // one line per check
  return s.length > 300 ? `${s.slice(0, 300)}…` : s
}
const errText = (e) => {
  if (!e) return String(e)
  const code = e.code || e.error || ''
  const msg = e.message || e.error_description || ''
  if (msg) return `${code} ${msg}`.trim()
  // the SDK turns network errors and non-JSON answers into an empty AuthError
  return `${code || 'error'} without description (network error, or a non-JSON answer from the gateway?)`
}

// The SDK is chatty (hints in Chinese, a missing optional `ws` package, ...):
// keep stdout to our check lines unless asked otherwise.
if (!VERBOSE) {
  for (const k of ['log', 'info', 'warn', 'error', 'debug']) console[k] = () => {}
} else {
  for (const k of ['log', 'info', 'warn', 'debug']) console[k] = console.error
}

// Whole-run watchdog: a hung gateway must not hang CI.
setTimeout(() => { check('test finished within the time limit', false, 'watchdog fired'); finish() },
  CALL_TIMEOUT * 12).unref()

function withTimeout(p, what) {
  let t
  return Promise.race([
    Promise.resolve(p).finally(() => clearTimeout(t)),
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: no answer within ${CALL_TIMEOUT} ms`)), CALL_TIMEOUT) }),
  ])
}

// Run one SDK call; never throws, returns {ok, value, error}.
async function sdk(what, fn) {
  try {
    return { ok: true, value: await withTimeout(fn(), what) }
  } catch (e) {
    return { ok: false, error: e }
  }
}

// --- direct HTTP (bypassing the SDK) ----------------------------------------
const deviceId = crypto.randomBytes(16).toString('hex')
async function raw(method, path, { body, bearer } = {}) {
  const headers = { 'x-device-id': deviceId, 'x-request-id': crypto.randomBytes(16).toString('hex') }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (bearer) headers.authorization = `Bearer ${bearer}`
  const ctl = new AbortController()
  const t = setTimeout(() => ctl.abort(), CALL_TIMEOUT)
  try {
    const res = await fetch(`${origin}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: ctl.signal })
    const text = await res.text()
    let json = null
    try { json = JSON.parse(text) } catch (e) { /* not JSON */ }
    return { status: res.status, json, text, ctype: res.headers.get('content-type') || '' }
  } catch (e) {
    return { status: 0, json: null, text: String(e && e.message || e), ctype: '' }
  } finally {
    clearTimeout(t)
  }
}

function checkRefused(name, r, status, error) {
  check(`${name}: HTTP ${status}`, r.status === status, `got ${r.status} ${short(r.text)}`)
  check(`${name}: JSON body {error:"${error}"}`, r.json && r.json.error === error,
    `got ${short(r.text)} (the SDK ignores HTTP status and only looks at the JSON "error" field)`)
}

// --- the test ---------------------------------------------------------------
async function main() {
  // Server-side credentials in the environment would turn the node SDK into an
  // admin client (request signing / accessKey); we want the end-user client.
  for (const k of ['TENCENTCLOUD_SECRETID', 'TENCENTCLOUD_SECRETKEY', 'TENCENTCLOUD_SESSIONTOKEN', 'CLOUDBASE_APIKEY',
    'TCB_CONTEXT_KEYS', 'TCB_CONTEXT_CNFG', 'TENCENTCLOUD_RUNENV', 'TCB_ENV', 'SCF_NAMESPACE']) delete process.env[k]

  let cloudbase
  try {
    cloudbase = require('@cloudbase/js-sdk') // node build via package "exports" (dist/index.node.cjs.js)
  } catch (e) {
    check('load @cloudbase/js-sdk (run `npm ci` in tests/sdk)', false, e.message)
    return
  }
  const pinned = require('./package.json').dependencies['@cloudbase/js-sdk']
  check(`@cloudbase/js-sdk ${pinned} loaded (gateway ${protocol}://${hostAndPrefix}, env ${ENV})`,
    typeof cloudbase.init === 'function' && cloudbase.version === pinned, `version ${short(cloudbase.version)}`)

  // The SDK swallows connection errors, so check reachability ourselves first.
  const probe = await raw('GET', '/auth/v1/user/me')
  if (!check(`gateway answers HTTP at ${origin}`, probe.status > 0, probe.text)) return
  check('unauthenticated GET /auth/v1/user/me is refused with JSON {error}', probe.status === 401 && probe.json && typeof probe.json.error === 'string',
    `got ${probe.status} ${short(probe.text)}`)

  const app = cloudbase.init({ env: ENV, timeout: CALL_TIMEOUT })
  app.registerHost(hostAndPrefix, protocol) // CLOUD_API -> //host/web, GATEWAY -> //host/v1; auth -> origin/auth/v1
  const auth = app.auth()

  const session = async () => {
    const r = await sdk('getSession', () => auth.getSession())
    return r.ok && r.value && r.value.data ? r.value.data.session : null
  }
  // getUserInfo() swallows /user/me failures and returns the cached profile, so
  // drop the cache first: what comes back must then come from the gateway.
  const freshUserInfo = async () => {
    try { const u = auth.currentUser; if (u && u.setLocalUserInfo) u.setLocalUserInfo({}) } catch (e) { /* ignore */ }
    return sdk('getUserInfo', () => auth.getUserInfo())
  }
  const expireLocally = async (s) => {
    const { user, ...creds } = s
    await auth.setCredentials({ ...creds, expires_at: new Date(Date.now() - 1000) })
  }

  // ---- 1. anonymous sign-in ------------------------------------------------
  let r = await sdk('signInAnonymously', () => auth.signInAnonymously())
  const anonErr = r.ok ? r.value && r.value.error : r.error
  if (!check('signInAnonymously() succeeds', r.ok && !anonErr, errText(anonErr))) {
    return // nothing else can work
  }
  const anonUser = r.value.data.user || {}
  let s1 = r.value.data.session || await session()
  check('anonymous: the SDK holds a session', !!s1)
  check('anonymous: user id (from /user/me "sub") present', typeof anonUser.id === 'string' && anonUser.id.length > 0, short(anonUser))
  check('anonymous: SDK flags the user is_anonymous (me.name === "anonymous")', anonUser.is_anonymous === true,
    `name=${short(anonUser.user_metadata && anonUser.user_metadata.name)}`)
  check('anonymous: session scope is "anonymous"', s1 && s1.scope === 'anonymous', short(s1 && s1.scope))
  check('anonymous: token_type "Bearer", access_token and refresh_token present',
    s1 && s1.token_type === 'Bearer' && !!s1.access_token && !!s1.refresh_token, short(s1 && { token_type: s1.token_type, a: !!s1.access_token, r: !!s1.refresh_token }))
  check('anonymous: expires_in is a number > 30 (SDK expires tokens at expires_in - 30 s)',
    s1 && typeof s1.expires_in === 'number' && s1.expires_in > 30, short(s1 && s1.expires_in))
  check('anonymous: token answer "sub" matches /user/me "sub"', s1 && (s1.sub === undefined || s1.sub === anonUser.id), `${s1 && s1.sub} vs ${anonUser.id}`)
  check('anonymous: token sizes within limits (access <= 4096, refresh <= 128)',
    s1 && s1.access_token.length <= 4096 && s1.refresh_token.length <= 128, s1 && `${s1.access_token.length}/${s1.refresh_token.length}`)

  // ---- 2. user info ----------------------------------------------------------
  r = await freshUserInfo()
  check('getUserInfo(): /user/me answered for the anonymous user', r.ok && r.value && r.value.uid === anonUser.id,
    r.ok ? short(r.value) : errText(r.error))
  check('getUserInfo(): name is "anonymous"', r.ok && r.value && r.value.name === 'anonymous', r.ok ? short(r.value && r.value.name) : '')
  let cu
  try { cu = auth.currentUser } catch (e) { cu = null }
  check('auth.currentUser (sync) has the uid', cu && cu.uid === anonUser.id, short(cu && cu.uid))

  // ---- 3. forced refresh (explicit) -----------------------------------------
  if (!s1) s1 = await session()
  r = await sdk('refreshSession', () => auth.refreshSession())
  const refErr = r.ok ? r.value && r.value.error : r.error
  const s2 = r.ok && r.value && r.value.data ? r.value.data.session : null
  check('refreshSession() succeeds (POST /auth/v1/token grant_type=refresh_token)', r.ok && !refErr && s2, errText(refErr))
  if (s1 && s2) {
    check('refresh: access token changed', s2.access_token && s2.access_token !== s1.access_token)
    check('refresh: refresh token rotated', s2.refresh_token && s2.refresh_token !== s1.refresh_token)
    check('refresh: same user', (s2.sub || anonUser.id) === anonUser.id, `${s2.sub} vs ${anonUser.id}`)
    // Replaying s1's rotated refresh token would revoke the whole session
    // (reuse detection), so that check waits until after section 4.
  }
  r = await freshUserInfo()
  check('getUserInfo() works with the refreshed token', r.ok && r.value && r.value.uid === anonUser.id, r.ok ? short(r.value) : errText(r.error))

  // ---- 4. implicit refresh (local expiry) -------------------------------------
  const s3 = await session()
  if (check('session available before local-expiry refresh', !!s3)) {
    await expireLocally(s3)
    r = await freshUserInfo()
    const s4 = await session()
    check('expired local token: SDK refreshes by itself, then /user/me answers',
      r.ok && r.value && r.value.uid === anonUser.id && s4 && s4.access_token !== s3.access_token,
      r.ok ? short({ uid: r.value && r.value.uid, changed: s4 && s4.access_token !== s3.access_token }) : errText(r.error))
    if (s4) {
      const old = await raw('POST', `/auth/v1/token?client_id=${encodeURIComponent(ENV)}`,
        { body: { client_id: ENV, client_secret: '', grant_type: 'refresh_token', refresh_token: s3.refresh_token } })
      checkRefused('refresh token used by the automatic refresh is refused afterwards', old, 400, 'invalid_grant')
      // Replaying an already rotated refresh token is reuse: the gateway
      // revokes the session, so the SDK's current access token stops working.
      if (s1) {
        const replay = await raw('POST', `/auth/v1/token?client_id=${encodeURIComponent(ENV)}`,
          { body: { client_id: ENV, client_secret: '', grant_type: 'refresh_token', refresh_token: s1.refresh_token } })
        checkRefused('old refresh token refused after rotation', replay, 400, 'invalid_grant')
        await waitForCacheBound()
        const me = await raw('GET', '/auth/v1/user/me', { bearer: s4.access_token })
        checkRefused('reuse of a rotated refresh token revoked the session (current access token)', me, 401, 'unauthenticated')
      }
    }
  }

  // ---- 5. sign-out of the anonymous session ----------------------------------
  const s5 = await session()
  r = await sdk('signOut', () => auth.signOut())
  const outErr = r.ok ? r.value && r.value.error : r.error
  check('signOut() succeeds (POST /auth/v1/revoke {token})', r.ok && !outErr, errText(outErr))
  const s6 = await session()
  check('signOut(): SDK dropped the local session', !s6, short(s6 && s6.scope))
  if (check('session available before signOut', !!s5)) {
    await waitForCacheBound()
    const me = await raw('GET', '/auth/v1/user/me', { bearer: s5.access_token })
    checkRefused('access token refused after signOut (GET /auth/v1/user/me)', me, 401, 'unauthenticated')
    const rt = await raw('POST', `/auth/v1/token?client_id=${encodeURIComponent(ENV)}`,
      { body: { client_id: ENV, client_secret: '', grant_type: 'refresh_token', refresh_token: s5.refresh_token } })
    checkRefused('refresh token refused after signOut', rt, 400, 'invalid_grant')
  }

  // ---- 6. username / password ---------------------------------------------------
  r = await sdk('signInWithPassword (wrong password)', () => auth.signInWithPassword({ username: USERNAME, password: `${PASSWORD}-wrong` }))
  // Only the gateway's own refusal counts: a network error, a timeout or a
  // non-JSON answer also comes back as an error, and must fail this check.
  const wrongErr = r.ok ? r.value && r.value.error : r.error
  check('signInWithPassword() with a wrong password is refused with invalid_grant',
    r.ok && wrongErr && wrongErr.code === 'invalid_grant', errText(wrongErr))
  check('signInWithPassword() with a wrong password keeps no session', !(await session()))

  r = await sdk('signInWithPassword', () => auth.signInWithPassword({ username: USERNAME, password: PASSWORD }))
  const pwErr = r.ok ? r.value && r.value.error : r.error
  if (check(`signInWithPassword({username: ${JSON.stringify(USERNAME)}}) succeeds`, r.ok && !pwErr, errText(pwErr))) {
    const user = r.value.data.user || {}
    const ps = r.value.data.session || await session()
    check('password user: user id present', typeof user.id === 'string' && user.id.length > 0, short(user))
    check('password user: not anonymous', user.is_anonymous === false && ps && ps.scope !== 'anonymous', short({ is_anonymous: user.is_anonymous, scope: ps && ps.scope }))
    check('password user: token_type "Bearer" and expires_in > 30', ps && ps.token_type === 'Bearer' && ps.expires_in > 30,
      short(ps && { token_type: ps.token_type, expires_in: ps.expires_in }))
    r = await freshUserInfo()
    check('getUserInfo(): username matches', r.ok && r.value && r.value.username === USERNAME, r.ok ? short(r.value && r.value.username) : errText(r.error))
    check('getUserInfo(): uid matches the signed-in user', r.ok && r.value && r.value.uid === user.id, r.ok ? short(r.value && r.value.uid) : '')

    const before = await session()
    r = await sdk('signOut', () => auth.signOut())
    const e2 = r.ok ? r.value && r.value.error : r.error
    check('signOut() of the password user succeeds', r.ok && !e2, errText(e2))
    check('signOut(): SDK dropped the local session', !(await session()))
    if (check('session available before the password user\'s signOut', !!before)) {
      await waitForCacheBound()
      const me = await raw('GET', '/auth/v1/user/me', { bearer: before.access_token })
      checkRefused('password user: access token refused after signOut', me, 401, 'unauthenticated')
    }
  }
}

main().then(finish, (e) => { check('test script ran without an unexpected exception', false, e && e.stack || e); finish() })
