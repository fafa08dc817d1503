#!/usr/bin/env node
/*
 * functions-sdk-test.js -- real-client test of mod_cloudbase's functions and
 * cloud run routes: drives the official @cloudbase/js-sdk (node build, version
 * pinned in package.json) against a running gateway.
 *
 *   cd tests/sdk && npm ci
 *   node functions-sdk-test.js GATEWAY_HOST_PORT ENV      e.g. 127.0.0.1:8080 demo
 *
 * Gateway setup it expects (see WIRE.md, "Functions and cloud run"):
 *   function `add-two`  -> tcb-ff serving functions/add-two   (POST /v1/functions/add-two)
 *   cloud run `echo`    -> tcb-ff serving functions/echo      (/v1/cloudrun/echo/<path> -> /<path>)
 *   the gateway adds X-Cloudbase-Uid (signed-in user), X-Cloudbase-Env and
 *   X-Request-Id to upstream requests; /auth/v1 serves anonymous sign-in.
 *
 * Steps: signInAnonymously; callFunction add-two {a:1,b:101} (sum 102, uid/env/
 * request id seen by the function); callContainer echo POST /orders/42?x=1 with
 * a custom header and a JSON body; callContainer echo GET /orders/42?x=1 with
 * data {y:"2"} (the SDK appends it to the query).
 *
 * Arguments may also come from GATEWAY / CLOUDBASE_ENV (defaults 127.0.0.1:8080,
 * demo).  SDK_TIMEOUT_MS: per-call timeout (default 15000).  SDK_VERBOSE=1 lets
 * the SDK's own console output through (to stderr).
 *
 * Output: one line per check ("ok - ..." / "not ok - ...: detail"), "# ..."
 * notes, then exactly "functions-sdk: N/M checks passed".  Exit status 0 only
 * when every check passed, else 1 (2 for a usage error).
 */
'use strict'

const rawGateway = process.argv[2] || process.env.GATEWAY || '127.0.0.1:8080'
const ENV = process.argv[3] || process.env.CLOUDBASE_ENV || 'demo'
if (process.argv.length > 4 || /^-/.test(rawGateway)) {
  process.stderr.write('usage: node functions-sdk-test.js GATEWAY_HOST_PORT ENV   (e.g. 127.0.0.1:8080 demo)\n')
  process.exit(2)
}
const protocol = /^https:\/\//i.test(rawGateway) ? 'https' : 'http'
const hostAndPrefix = rawGateway.replace(/^https?:\/\//i, '').replace(/\/+$/, '')
const origin = `${protocol}://${hostAndPrefix.split('/')[0]}`
const CALL_TIMEOUT = Number(process.env.SDK_TIMEOUT_MS || 15000)
const VERBOSE = !!process.env.SDK_VERBOSE

// --- reporting --------------------------------------------------------------
let passed = 0
let total = 0
let finished = false
const out = (s) => process.stdout.write(`${s}\n`)
const short = (v) => {
  let s
  try { s = typeof v === 'string' ? v : JSON.stringify(v) } catch (e) { s = String(v) }
  s = String(s).replace(/\s+/g, ' ')
  return s.length > 400 ? `${s.slice(0, 400)}…` : s
}
function check(name, cond, detail) {
  total++
  if (cond) { passed++; out(`ok - ${name}`) } else {
    out(`not ok - ${name}${detail !== undefined ? `: ${short(detail)}` : ''}`)
  }
  return !!cond
}
const note = (s) => out(`# ${s}`)
function finish() {
  if (finished) return
  finished = true
  out(`functions-sdk: ${passed}/${total} checks passed`)
  process.exit(total > 0 && passed === total ? 0 : 1)
}

// The SDK is chatty (hints in Chinese, a missing optional dependency, ...).
if (!VERBOSE) {
  for (const k of ['log', 'info', 'warn', 'error', 'debug']) console[k] = () => {}
} else {
  for (const k of ['log', 'info', 'warn', 'debug']) console[k] = console.error
}

// Whole-run watchdog: a hung gateway must not hang CI.
setTimeout(() => { check('test finished within the time limit', false, 'watchdog fired'); finish() },
  CALL_TIMEOUT * 6).unref()

function withTimeout(p, what) {
  let t
  return Promise.race([
    Promise.resolve(p).finally(() => clearTimeout(t)),
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: no answer within ${CALL_TIMEOUT} ms`)), CALL_TIMEOUT) }),
  ])
}
async function sdk(what, fn) {
  try {
    return { ok: true, value: await withTimeout(fn(), what) }
  } catch (e) {
    return { ok: false, error: e }
  }
}
const errText = (e) => {
  if (!e) return String(e)
  const msg = e.message || e.error_description || e.msg || ''
  const code = e.code || e.error || ''
  return `${code} ${msg}`.trim() || short(e)
}
const headerOf = (headers, name) => (headers && typeof headers === 'object' ? headers[name] : undefined)

// --- the test ---------------------------------------------------------------
async function main() {
  // Server-side credentials would turn the node SDK into an admin client.
  for (const k of ['TENCENTCLOUD_SECRETID', 'TENCENTCLOUD_SECRETKEY', 'TENCENTCLOUD_SESSIONTOKEN', 'CLOUDBASE_APIKEY',
    'TCB_CONTEXT_KEYS', 'TCB_CONTEXT_CNFG', 'TENCENTCLOUD_RUNENV', 'TCB_ENV', 'SCF_NAMESPACE']) delete process.env[k]

  let cloudbase
  try {
    cloudbase = require('@cloudbase/js-sdk') // node build via "exports"
  } catch (e) {
    check('load @cloudbase/js-sdk (run `npm ci` in tests/sdk)', false, e.message)
    return
  }
  note(`@cloudbase/js-sdk ${cloudbase.version}, gateway ${protocol}://${hostAndPrefix}, env ${ENV}`)

  // The SDK loses connection errors, so check reachability ourselves first.
  let reachable = ''
  try {
    const ctl = new AbortController()
    const t = setTimeout(() => ctl.abort(), CALL_TIMEOUT)
    const res = await fetch(`${origin}/auth/v1/user/me`, { signal: ctl.signal })
    clearTimeout(t)
    await res.text()
  } catch (e) {
    reachable = String(e && (e.cause && e.cause.message || e.message) || e)
  }
  if (!check(`gateway answers HTTP at ${origin}`, !reachable, reachable)) return

  const app = cloudbase.init({ env: ENV, timeout: CALL_TIMEOUT })
  app.registerHost(hostAndPrefix, protocol) // GATEWAY endpoint -> //host/v1 ; auth -> origin/auth/v1
  const auth = app.auth()

  // ---- sign in ---------------------------------------------------------------
  let r = await sdk('signInAnonymously', () => auth.signInAnonymously())
  const signErr = r.ok ? r.value && r.value.error : r.error
  const uid = r.ok && r.value && r.value.data && r.value.data.user && r.value.data.user.id
  if (!check('signInAnonymously() succeeds and yields a user id', r.ok && !signErr && typeof uid === 'string' && uid.length > 0,
    signErr ? errText(signErr) : short(r.value))) {
    return // the rest needs a signed-in user
  }
  note(`signed in anonymously, uid ${uid}`)

  // ---- callFunction ----------------------------------------------------------
  // GATEWAY mode: POST /v1/functions/add-two with the JSON data as body; the SDK
  // returns {result: <whole response body>, requestId: <its own X-Request-Id>},
  // or the body itself ({code, message, requestId}) when it has a truthy `code`.
  r = await sdk('callFunction', () => app.callFunction({ name: 'add-two', data: { a: 1, b: 101 } }))
  const fn = r.ok ? r.value : undefined
  if (check('callFunction(add-two) resolves with {result}', r.ok && fn && fn.result !== undefined && !fn.code,
    r.ok ? short(fn) : errText(r.error))) {
    const res = fn.result
    check('callFunction: result.sum === 102', res && res.sum === 102, short(res))
    check('callFunction: function saw X-Cloudbase-Uid = signed-in uid', res && res.uid === uid,
      `function saw ${short(res && res.uid)}, signed in as ${uid}`)
    check(`callFunction: function saw X-Cloudbase-Env = ${ENV}`, res && res.env === ENV, short(res && res.env))
    check('callFunction: function saw a non-empty X-Request-Id', res && typeof res.requestId === 'string' && res.requestId.length > 0,
      short(res && res.requestId))
    check('callFunction: function was called with POST', res && res.method === 'POST', short(res && res.method))
    check('callFunction: SDK result carries a requestId', typeof fn.requestId === 'string' && fn.requestId.length > 0, short(fn.requestId))
    if (res && typeof res.requestId === 'string') {
      note(`request id: SDK sent ${fn.requestId}, function saw ${res.requestId} (${res.requestId === fn.requestId ? 'passed through' : 'replaced by the gateway'}); upstream path ${res.path}`)
    }
  }

  // ---- callContainer, POST ---------------------------------------------------
  // POST /v1/cloudrun/echo/orders/42?x=1, headers as given, body JSON.stringify(data);
  // the SDK returns the parsed response body (text if it is not JSON).
  const body = { order: 42, items: ['a', 'b'], note: 'héllo' }
  r = await sdk('callContainer POST', () => app.callContainer({
    name: 'echo',
    method: 'POST',
    path: '/orders/42?x=1',
    header: { 'X-Custom-Header': 'hello' },
    data: body,
  }))
  const post = r.ok ? r.value : undefined
  if (check('callContainer(echo, POST /orders/42?x=1) returns the upstream JSON echo', r.ok && post && post.echo === true,
    r.ok ? short(post) : errText(r.error))) {
    check('callContainer POST: upstream saw method POST', post.method === 'POST', short(post.method))
    check('callContainer POST: upstream saw path /orders/42', post.path === '/orders/42', short(post.path))
    check('callContainer POST: upstream saw query x=1', post.query && post.query.x === '1' && post.rawQuery === 'x=1',
      `rawQuery ${short(post.rawQuery)}`)
    check('callContainer POST: upstream saw header x-custom-header: hello', headerOf(post.headers, 'x-custom-header') === 'hello',
      short(headerOf(post.headers, 'x-custom-header')))
    check('callContainer POST: upstream got the JSON body unchanged', JSON.stringify(post.body) === JSON.stringify(body), short(post.body))
    check('callContainer POST: upstream saw X-Cloudbase-Uid = signed-in uid', headerOf(post.headers, 'x-cloudbase-uid') === uid,
      `upstream saw ${short(headerOf(post.headers, 'x-cloudbase-uid'))}, signed in as ${uid}`)
    check(`callContainer POST: upstream saw X-Cloudbase-Env = ${ENV}`, headerOf(post.headers, 'x-cloudbase-env') === ENV,
      short(headerOf(post.headers, 'x-cloudbase-env')))
    check('callContainer POST: upstream saw a non-empty X-Request-Id', !!headerOf(post.headers, 'x-request-id'),
      short(headerOf(post.headers, 'x-request-id')))
  }

  // ---- callContainer, GET ----------------------------------------------------
  // GET: no body; the SDK appends data to the path as an (unencoded) query:
  // /orders/42?x=1 + {y:"2"} -> GET /v1/cloudrun/echo/orders/42?x=1&y=2
  r = await sdk('callContainer GET', () => app.callContainer({
    name: 'echo',
    method: 'GET',
    path: '/orders/42?x=1',
    header: { 'X-Custom-Header': 'hello' },
    data: { y: '2' },
  }))
  const get = r.ok ? r.value : undefined
  if (check('callContainer(echo, GET /orders/42?x=1, data {y:"2"}) returns the upstream JSON echo', r.ok && get && get.echo === true,
    r.ok ? short(get) : errText(r.error))) {
    check('callContainer GET: upstream saw method GET', get.method === 'GET', short(get.method))
    check('callContainer GET: upstream saw path /orders/42', get.path === '/orders/42', short(get.path))
    check('callContainer GET: upstream saw query x=1&y=2', get.rawQuery === 'x=1&y=2', short(get.rawQuery))
    check('callContainer GET: upstream saw header x-custom-header: hello', headerOf(get.headers, 'x-custom-header') === 'hello',
      short(headerOf(get.headers, 'x-custom-header')))
    check('callContainer GET: upstream saw X-Cloudbase-Uid = signed-in uid', headerOf(get.headers, 'x-cloudbase-uid') === uid,
      short(headerOf(get.headers, 'x-cloudbase-uid')))
  }
}

main().then(finish, (e) => { check('test script ran without an unexpected exception', false, e && e.stack || e); finish() })
