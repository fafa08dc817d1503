#!/usr/bin/env node
/*
 * ws-client-check.js -- WebSocket round-trip check through the gateway (or
 * directly against ws-echo-server.js).  Uses the `ws` package (pinned in
 * package.json).
 *
 *   node ws-client-check.js URL [-H 'Name: value']...
 *   e.g. node ws-client-check.js ws://127.0.0.1:8080/v1/cloudrun/ws/chat
 *        node ws-client-check.js ws://127.0.0.1:8080/v1/cloudrun/ws/chat -H "Authorization: Bearer $AT"
 *
 * Connects, sends 3 text messages at once, and expects the 3 answers
 * "echo:<message>" (what ws-echo-server.js sends) in the same order, all
 * within WS_TIMEOUT_MS (default 5000 ms) from the start.  Then closes with
 * code 1000.
 *
 * Output: one line.
 *   success:  "ws-client-check: ok - 3/3 echoes in order from URL"          exit 0
 *   failure:  "ws-client-check: FAIL - <reason>"                            exit 1
 *     reasons include "upgrade refused: HTTP <status> <reason> <body...>",
 *     connection errors, an early close (with its code), a wrong or
 *     out-of-order echo, and a timeout (with the echoes received so far).
 *   usage error: exit 2.
 */
'use strict'

const WebSocket = require('ws')

const args = process.argv.slice(2)
const url = args.shift()
const headers = {}
while (args.length) {
  const a = args.shift()
  const v = a === '-H' ? args.shift() : undefined
  const m = v !== undefined && /^([^:\s]+)\s*:\s*(.*)$/.exec(v)
  if (!m) {
    process.stderr.write(`ws-client-check: bad argument ${JSON.stringify(a)}\n`)
    process.exit(2)
  }
  headers[m[1]] = m[2]
}
if (!url || !/^wss?:\/\//i.test(url)) {
  process.stderr.write('usage: node ws-client-check.js ws://HOST:PORT/PATH [-H "Name: value"]...\n')
  process.exit(2)
}
const TIMEOUT = Number(process.env.WS_TIMEOUT_MS || 5000)

const tag = Math.random().toString(36).slice(2, 8)
const messages = [1, 2, 3].map((i) => `msg-${i}-${tag}`)
const expected = messages.map((m) => `echo:${m}`)
const received = []
let done = false

const short = (s) => {
  s = String(s).replace(/\s+/g, ' ')
  return s.length > 200 ? `${s.slice(0, 200)}…` : s
}

function finish(ok, text) {
  if (done) return
  done = true
  process.stdout.write(`ws-client-check: ${ok ? 'ok' : 'FAIL'} - ${text}\n`)
  const code = ok ? 0 : 1
  try {
    if (ws.readyState === WebSocket.OPEN) {
      ws.close(1000, 'done')
      setTimeout(() => process.exit(code), 500).unref()
      ws.once('close', () => process.exit(code))
      return
    }
    ws.terminate()
  } catch (e) { /* ignore */ }
  process.exit(code)
}

const timer = setTimeout(() => {
  finish(false, `timeout after ${TIMEOUT} ms: got ${received.length}/3 echoes ${JSON.stringify(received)}`)
}, TIMEOUT)
timer.unref()

let ws
try {
  ws = new WebSocket(url, { headers, handshakeTimeout: TIMEOUT })
} catch (e) {
  finish(false, `cannot connect to ${url}: ${e.message}`)
}

// The server answered the upgrade with an ordinary HTTP response.
ws.on('unexpected-response', (req, res) => {
  let body = ''
  res.setEncoding('utf8')
  res.on('data', (c) => { if (body.length < 1000) body += c })
  const report = () => finish(false,
    `upgrade refused: HTTP ${res.statusCode} ${res.statusMessage || ''}${body ? ` body: ${short(body)}` : ''}`)
  res.on('end', report)
  res.on('error', report)
  setTimeout(report, 1000).unref()
})

ws.on('error', (e) => finish(false, `connection error: ${e.code ? `${e.code} ` : ''}${e.message}`))

ws.on('open', () => {
  for (const m of messages) ws.send(m)
})

ws.on('message', (data, isBinary) => {
  const text = isBinary ? `<binary ${data.length} bytes>` : data.toString('utf8')
  const i = received.length
  received.push(text)
  if (text !== expected[i]) {
    finish(false, `echo ${i + 1} was ${JSON.stringify(short(text))}, expected ${JSON.stringify(expected[i])}`)
    return
  }
  if (received.length === expected.length) {
    clearTimeout(timer)
    finish(true, `3/3 echoes in order from ${url}`)
  }
})

ws.on('close', (code, reason) => {
  finish(false, `connection closed early (code ${code}${reason && reason.length ? ` ${short(reason.toString())}` : ''}) after ${received.length}/3 echoes`)
})
