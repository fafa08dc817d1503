#!/usr/bin/env node
/*
 * ws-echo-server.js -- WebSocket echo upstream for the gateway's cloud run
 * WebSocket tests (pair: ws-client-check.js).  Uses the `ws` package (pinned in
 * package.json).
 *
 *   node ws-echo-server.js PORT
 *
 * Listens on 127.0.0.1:PORT and
 *   - accepts a WebSocket upgrade on any path;
 *   - answers each text message with the same text prefixed by "echo:"
 *     (binary messages come back unchanged, as binary);
 *   - answers any plain HTTP request (no upgrade) with 200
 *     application/json {"http":true} (HEAD: headers only).
 * Prints "ready" on stdout once listening.  One line per upgrade
 * ("upgrade PATH x-cloudbase-uid=... x-cloudbase-env=... x-request-id=...")
 * goes to stderr, to help debugging what the gateway forwarded.
 * Exits 0 on SIGTERM / SIGINT.
 */
'use strict'

const http = require('http')
const { WebSocketServer } = require('ws')

const port = Number(process.argv[2])
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('usage: node ws-echo-server.js PORT\n')
  process.exit(2)
}

const server = http.createServer((req, res) => {
  const body = JSON.stringify({ http: true })
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(req.method === 'HEAD' ? undefined : body)
})

const wss = new WebSocketServer({ noServer: true })

server.on('upgrade', (req, socket, head) => {
  const h = (n) => (req.headers[n] === undefined ? '-' : req.headers[n])
  process.stderr.write(`upgrade ${req.url} x-cloudbase-uid=${h('x-cloudbase-uid')} x-cloudbase-env=${h('x-cloudbase-env')} x-request-id=${h('x-request-id')}\n`)
  // handleUpgrade answers 400 itself when the request is not a valid upgrade.
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
})

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (isBinary) ws.send(data, { binary: true })
    else ws.send(`echo:${data.toString('utf8')}`)
  })
  ws.on('error', () => { /* peer went away; nothing to do */ })
})

server.on('error', (e) => {
  process.stderr.write(`ws-echo-server: ${e.message}\n`)
  process.exit(1)
})

server.listen(port, '127.0.0.1', () => {
  process.stdout.write('ready\n')
})

function shutdown() {
  for (const ws of wss.clients) ws.terminate()
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 1000).unref()
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
