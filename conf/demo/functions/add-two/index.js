/*
 * The demo's `add-two` cloud function (seed 000's quick start calls it with
 * {a: 1, b: 101} and expects 102). scripts/demo.sh runs it with the pinned
 * @cloudbase/functions-framework (tcb-ff, from tests/sdk/node_modules).
 */
'use strict'

exports.main = function main(event) {
  let ev = event
  if (Buffer.isBuffer(ev)) ev = ev.toString('utf8')
  if (typeof ev === 'string') {
    try { ev = JSON.parse(ev) } catch (e) { ev = {} }
  }
  ev = ev || {}
  return Number(ev.a) + Number(ev.b)
}
