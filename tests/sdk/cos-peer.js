#!/usr/bin/env node
/*
 * cos-peer.js -- the COS store of mod_cloudbase's backend=cos integration
 * test (tests/integration/it_storage_backends.c). This is NOT Tencent COS
 * (which has no offline edition): it is a small object store that accepts a
 * request only when its q-sign-algorithm=sha1 authorization (header, or the
 * query of a presigned URL) is exactly what cos-nodejs-sdk-v5's own
 * getAuthorization (npm, pinned) computes for the request as received: the
 * headers and parameters the authorization lists, its key time, this
 * peer's SecretId and SecretKey. It also requires the configured security
 * token (x-cos-security-token, header or query) and a current q-sign-time.
 *
 *   node cos-peer.js PORT DIR SECRET_ID SECRET_KEY_FILE [TOKEN_FILE]
 *
 * Objects live in DIR (one file per key, named by its hex). PUT stores (or,
 * with x-cos-copy-source HOST/KEY, copies), GET and HEAD read, DELETE
 * removes (204 even when absent, as COS). A refusal is 403 with a COS XML
 * error (SignatureDoesNotMatch, InvalidAccessKeyId, AccessDenied,
 * RequestTimeTooSkewed, InvalidToken). Every request is logged as a JSON
 * line to stdout ({method, key, status}), for the test to read. Prints
 * "cos-peer ready PORT" once listening.
 */
'use strict'
const fs = require('fs')
const path = require('path')
const http = require('http')
const crypto = require('crypto')
const COS = require('cos-nodejs-sdk-v5')

const [port, dir, secretId, keyFile, tokenFile] = process.argv.slice(2)
const secretKey = fs.readFileSync(keyFile, 'utf8').replace(/\n$/, '')
const token = tokenFile ? fs.readFileSync(tokenFile, 'utf8').replace(/\n$/, '') : ''

function cosError (res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/xml' })
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`)
}

const fileOf = (key) => path.join(dir, Buffer.from(key).toString('hex'))

// NULL when authorized, else [code, message].
function verify (req, url, key) {
  const fromQuery = url.searchParams.has('q-sign-algorithm')
  const text = fromQuery ? url.search.slice(1) : (req.headers.authorization || '')
  const fields = {}
  for (const part of text.split('&')) {
    const i = part.indexOf('=')
    if (i > 0) fields[part.slice(0, i)] = part.slice(i + 1)
  }
  if (fields['q-sign-algorithm'] !== 'sha1') return ['AccessDenied', 'no q-sign-algorithm=sha1 authorization']
  if (fields['q-ak'] !== secretId) return ['InvalidAccessKeyId', 'unknown SecretId']
  const [start, end] = (fields['q-sign-time'] || '').split(';').map(Number)
  const now = Math.floor(Date.now() / 1000)
  if (!(start <= now && now <= end)) return ['RequestTimeTooSkewed', 'q-sign-time does not cover now']
  const headers = {}
  for (const h of (fields['q-header-list'] || '').split(';').filter(Boolean)) headers[h] = req.headers[h] || ''
  const query = {}
  for (const q of (fields['q-url-param-list'] || '').split(';').filter(Boolean)) query[q] = url.searchParams.get(q) || ''
  const expected = COS.getAuthorization({ SecretId: secretId, SecretKey: secretKey, Method: req.method, Key: key, Query: query, Headers: headers, KeyTime: fields['q-key-time'] })
  const given = fromQuery ? text.split('&').filter((p) => p.startsWith('q-')).join('&') : text
  if (expected !== given) return ['SignatureDoesNotMatch', 'The calculated signature does not match the one provided']
  const sentToken = req.headers['x-cos-security-token'] || url.searchParams.get('x-cos-security-token') || ''
  if (token && sentToken !== token) return ['InvalidToken', 'the security token is missing or wrong']
  return null
}

function handle (req, res, body) {
  const url = new URL(req.url, 'http://x')
  const key = decodeURIComponent(url.pathname.slice(1))
  const log = (status) => process.stdout.write(JSON.stringify({ method: req.method, key, status, fileid: req.headers['x-cos-meta-fileid'] }) + '\n')
  const refusal = verify(req, url, key)
  if (refusal) { log(403); return cosError(res, 403, refusal[0], refusal[1]) }
  const file = fileOf(key)
  if (req.method === 'PUT') {
    let data = body
    const source = req.headers['x-cos-copy-source']
    if (source) {
      const from = fileOf(decodeURIComponent(source.slice(source.indexOf('/') + 1)))
      if (!fs.existsSync(from)) { log(404); return cosError(res, 404, 'NoSuchKey', 'copy source does not exist') }
      data = fs.readFileSync(from)
    }
    fs.writeFileSync(file + '.tmp', data)
    fs.renameSync(file + '.tmp', file)
    fs.writeFileSync(file + '.type', source && fs.existsSync(fileOf(decodeURIComponent(source.slice(source.indexOf('/') + 1))) + '.type')
      ? fs.readFileSync(fileOf(decodeURIComponent(source.slice(source.indexOf('/') + 1))) + '.type')
      : (req.headers['content-type'] || 'application/octet-stream'))
    const etag = `"${crypto.createHash('md5').update(data).digest('hex')}"`
    log(200)
    res.writeHead(200, { etag })
    return res.end(source ? `<CopyObjectResult><ETag>${etag}</ETag></CopyObjectResult>` : '')
  }
  if (req.method === 'DELETE') {
    fs.rmSync(file, { force: true })
    fs.rmSync(file + '.type', { force: true })
    log(204)
    res.writeHead(204)
    return res.end()
  }
  if (req.method === 'GET' || req.method === 'HEAD') {
    if (!fs.existsSync(file)) { log(404); return cosError(res, 404, 'NoSuchKey', 'The specified key does not exist.') }
    const data = fs.readFileSync(file)
    log(200)
    res.writeHead(200, { 'content-length': data.length, 'content-type': fs.readFileSync(file + '.type', 'utf8'), etag: `"${crypto.createHash('md5').update(data).digest('hex')}"` })
    return res.end(req.method === 'GET' ? data : undefined)
  }
  log(405)
  cosError(res, 405, 'MethodNotAllowed', 'not supported by this peer')
}

http.createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    try { handle(req, res, Buffer.concat(chunks)) } catch (e) { cosError(res, 500, 'InternalError', e.message) }
  })
}).listen(Number(port), '127.0.0.1', () => process.stdout.write(`cos-peer ready ${port}\n`))
