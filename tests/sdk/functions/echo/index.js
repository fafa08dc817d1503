/*
 * functions/echo/index.js -- HTTP echo used as the upstream of the cloud run
 * service `echo` (functions-sdk-test.js calls it through app.callContainer).
 * Run by @cloudbase/functions-framework (tcb-ff), which hands every request,
 * whatever its method and path, to main(event, context).
 *
 * Answers 200 JSON describing the request exactly as this upstream received it:
 *   { echo: true, method, path, rawQuery, query, headers, body }
 *   path      the pathname as received, still percent-encoded (e.g. "/orders/42");
 *             WHATWG URL parsing removes "." / ".." segments
 *   rawQuery  the query string without "?" ("" when none)
 *   query     the query as an object (a repeated key gives an array)
 *   headers   all request headers, names in lower case
 *   body      the parsed body (tcb-ff parses JSON/form/text bodies of POST, PUT
 *             and PATCH only: for GET/DELETE/... the function never sees the
 *             body, so it is null); an unparsable body comes back as a string;
 *             null if empty
 * tcb-ff answers a WebSocket upgrade to this function with a plain 200 echo
 * (no 101): use ws-echo-server.js for WebSocket upstreams.
 *
 * Start:  cd tests/sdk/functions/echo && ../../node_modules/.bin/tcb-ff --port=PORT --logDirname=/tmp/tcb-ff-logs
 */
'use strict'

exports.main = function main(event, context) {
  const http = (context && context.httpContext) || {}
  let u = null
  try { u = new URL(http.url) } catch (e) { /* no URL */ }
  const query = {}
  if (u) {
    for (const [k, v] of u.searchParams) {
      if (Object.prototype.hasOwnProperty.call(query, k)) {
        query[k] = [].concat(query[k], v)
      } else {
        query[k] = v
      }
    }
  }
  let body = event
  if (Buffer.isBuffer(body)) body = body.length ? body.toString('utf8') : null
  if (body && typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0) body = null
  // Deliberately no numeric `statusCode` key next to `headers`: tcb-ff would
  // take the answer for an integration response.
  return {
    echo: true,
    method: http.httpMethod || null,
    path: u ? u.pathname : null,
    rawQuery: u ? u.search.replace(/^\?/, '') : null,
    query,
    headers: http.headers || {},
    body: body === undefined ? null : body,
  }
}
