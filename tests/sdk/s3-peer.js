#!/usr/bin/env node
/*
 * s3-peer.js -- the S3 store of mod_cloudbase's backend=s3 integration test
 * (tests/integration/it_storage_backends.c): s3rver (npm, pinned 3.7.1)
 * keeps the objects in DIR, behind a front on 127.0.0.1:PORT that verifies
 * every request's SigV4 signature with the AWS SDK's own signer
 * (@smithy/signature-v4), because s3rver 3.7.1 does not: its
 * authentication middleware checks only that the access key exists ("Signature
 * version 4 calculation is unimplemented").
 *
 *   node s3-peer.js PORT DIR BUCKET
 *
 * Credentials: s3rver's default account, access key S3RVER, secret S3RVER.
 * Path-style (http://127.0.0.1:PORT/BUCKET/KEY) and virtual-hosted
 * (http://BUCKET.s3.localhost:PORT/KEY: s3rver's serviceEndpoint is
 * "localhost") requests both work.
 *
 * The front checks, as S3 does: the credential's key and scope, the
 * signature (presigned: X-Amz-*; header: Authorization) recomputed over
 * the request as received, a presigned URL's expiry and a header
 * signature's 15-minute clock skew; a failure is 403 with an S3 XML error
 * (SignatureDoesNotMatch, InvalidAccessKeyId, AccessDenied). An
 * Authorization header that is empty is treated as absent, as MinIO does
 * (it classifies a request by the header's AWS4-HMAC-SHA256 prefix): the
 * CloudBase SDK always sends the upload info's `authorization` as a header,
 * empty for a presigned URL, and s3rver alone would count it as a second
 * auth mechanism. Prints "s3-peer ready PORT" once listening.
 */
'use strict'
const http = require('http')
const crypto = require('crypto')
const S3rver = require('s3rver')
const { SignatureV4 } = require('@smithy/signature-v4')

const [port, dir, bucket] = process.argv.slice(2)
const ACCESS_KEY = 'S3RVER'
const SECRET_KEY = 'S3RVER'
const MAX_SKEW_S = 900

class Sha256 {
  constructor (secret) { this.h = secret ? crypto.createHmac('sha256', secret) : crypto.createHash('sha256') }
  update (data) { this.h.update(typeof data === 'string' ? Buffer.from(data) : data) }
  async digest () { return new Uint8Array(this.h.digest()) }
}

function s3Error (res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/xml' })
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`)
}

function amzDate (text) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text || '')
  return m ? new Date(Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : null
}

function signerFor (credential) {
  const [key, , region, service, term] = (credential || '').split('/')
  if (key !== ACCESS_KEY) return { error: ['InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'] }
  if (service !== 's3' || term !== 'aws4_request' || !region) return { error: ['AuthorizationHeaderMalformed', 'bad credential scope'] }
  return { signer: new SignatureV4({ credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, region, service: 's3', sha256: Sha256, uriEscapePath: false }) }
}

// NULL when the request is signed right, else [code, message].
async function verify (req, url) {
  const q = Object.fromEntries(url.searchParams)
  const [hostname, hostPort] = (req.headers.host || '').split(':')
  const base = { method: req.method, protocol: 'http:', hostname, port: hostPort ? Number(hostPort) : undefined, path: url.pathname }
  if (q['X-Amz-Algorithm']) {
    if (q['X-Amz-Algorithm'] !== 'AWS4-HMAC-SHA256') return ['AuthorizationQueryParametersError', 'unknown algorithm']
    const { signer, error } = signerFor(q['X-Amz-Credential'])
    if (error) return error
    const when = amzDate(q['X-Amz-Date'])
    const expires = Number(q['X-Amz-Expires'])
    if (!when || !(expires >= 1 && expires <= 604800)) return ['AuthorizationQueryParametersError', 'bad X-Amz-Date or X-Amz-Expires']
    if (Date.now() > when.getTime() + expires * 1000) return ['AccessDenied', 'Request has expired']
    const query = {}
    for (const [k, v] of Object.entries(q)) if (!/^X-Amz-(Algorithm|Credential|Date|Expires|SignedHeaders|Signature|Security-Token|Content-Sha256)$/.test(k)) query[k] = v
    const headers = {}
    for (const h of (q['X-Amz-SignedHeaders'] || '').split(';')) if (h) headers[h] = req.headers[h] || ''
    // as the presigner's hoisted header, name and case kept (the canonical query sorts by it)
    if (q['X-Amz-Content-Sha256']) headers['X-Amz-Content-Sha256'] = q['X-Amz-Content-Sha256']
    const signed = await signer.presign({ ...base, query, headers }, { signingDate: when, expiresIn: expires, unhoistableHeaders: new Set() })
    return signed.query['X-Amz-Signature'] === q['X-Amz-Signature'] ? null : ['SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.']
  }
  const auth = req.headers.authorization
  const m = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth || '')
  if (!m) return ['AccessDenied', 'Anonymous access is forbidden for this operation']
  const { signer, error } = signerFor(m[1])
  if (error) return error
  const when = amzDate(req.headers['x-amz-date'])
  if (!when) return ['AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header']
  if (Math.abs(Date.now() - when.getTime()) > MAX_SKEW_S * 1000) return ['RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.']
  const headers = {}
  for (const h of m[2].split(';')) headers[h] = req.headers[h] || ''
  const query = Object.fromEntries(url.searchParams)
  const signed = await signer.sign({ ...base, query, headers }, { signingDate: when })
  const sig = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization || '')
  return sig && sig[1] === m[3] ? null : ['SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.']
}

async function main () {
  const store = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, serviceEndpoint: 'localhost', configureBuckets: [{ name: bucket }] })
  const inner = await store.run()
  const front = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x')
    verify(req, url).then((refusal) => {
      if (refusal) { req.resume(); return s3Error(res, 403, refusal[0], refusal[1]) }
      const headers = { ...req.headers }
      if (headers.authorization === '') delete headers.authorization
      const up = http.request({ host: '127.0.0.1', port: inner.port, method: req.method, path: req.url, headers }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers)
        answer.pipe(res)
      })
      up.on('error', (e) => s3Error(res, 502, 'InternalError', e.message))
      req.pipe(up)
    }).catch((e) => s3Error(res, 500, 'InternalError', e.message))
  })
  front.listen(Number(port), '127.0.0.1', () => process.stdout.write(`s3-peer ready ${port}\n`))
}
main().catch((e) => { process.stderr.write(`s3-peer: ${e && e.stack}\n`); process.exit(1) })
