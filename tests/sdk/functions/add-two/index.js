/*
 * functions/add-two/index.js -- the `add-two` cloud function used by
 * functions-sdk-test.js: run by @cloudbase/functions-framework (tcb-ff) as the
 * upstream of the gateway's POST /v1/functions/add-two.
 *
 * tcb-ff passes the parsed JSON request body as `event` and the request line and
 * headers as `context.httpContext` ({url, httpMethod, headers}, header names in
 * lower case).  The answer is the JSON body the SDK hands back as `result`:
 *   { sum: a + b, uid, env, requestId, method, path }
 * where uid/env/requestId are the X-Cloudbase-Uid / X-Cloudbase-Env /
 * X-Request-Id headers the gateway added (null when absent), so a test can
 * prove that the signed-in identity reached the function.
 *
 * Start:  cd tests/sdk/functions/add-two && ../../node_modules/.bin/tcb-ff --port=PORT --logDirname=/tmp/tcb-ff-logs
 * Never put a truthy `code` (or a numeric `statusCode` plus a `headers` object)
 * in the answer: the SDK would report a `code` as an error, and tcb-ff would
 * treat statusCode+headers as an "integration response".
 */
'use strict'

exports.main = function main(event, context) {
  let ev = event
  if (Buffer.isBuffer(ev)) ev = ev.toString('utf8') // body tcb-ff could not parse
  if (typeof ev === 'string') {
    try { ev = JSON.parse(ev) } catch (e) { ev = {} }
  }
  ev = ev || {}
  const http = (context && context.httpContext) || {}
  const headers = http.headers || {}
  const h = (name) => (headers[name] === undefined ? null : headers[name])
  let path = null
  try { path = new URL(http.url).pathname } catch (e) { /* no URL */ }
  return {
    sum: ev.a + ev.b,
    uid: h('x-cloudbase-uid'),
    env: h('x-cloudbase-env'),
    requestId: h('x-request-id'),
    method: http.httpMethod || null,
    path,
  }
}
