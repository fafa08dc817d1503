/*
 * The demo's `helloworld` Cloud Run service (seed 000's quick start GETs
 * /v1/cloudrun/helloworld). scripts/demo.sh runs it with the pinned
 * @cloudbase/functions-framework (tcb-ff), which hands it every request.
 */
'use strict'

exports.main = function main(event, context) {
  const http = (context && context.httpContext) || {}
  return `Hello World from the demo's helloworld service (${http.httpMethod || 'GET'})`
}
