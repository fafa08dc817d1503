#!/usr/bin/env node
/*
 * s3-endpoint-test.js -- real-client test of the storage plugin's
 * S3-compatible endpoint: drives the official @aws-sdk/client-s3 and
 * @aws-sdk/s3-request-presigner (pinned in package.json) against a running
 * gateway, and the official @cloudbase/js-sdk for the same objects.
 *
 *   node s3-endpoint-test.js HOST:PORT PREFIX ENV BUCKET ACCESS_KEY SECRET_FILE [MODE]
 *
 * The gateway serves the endpoint at http://HOST:PORT/PREFIX with the access
 * key ACCESS_KEY (its secret in SECRET_FILE) allowed on BUCKET, and maps the
 * Bearer token test-user-alice to user alice (tests/plugins/testplug).
 *
 * Steps: PutObject (a binary Buffer), GetObject (bytes equal), HeadObject,
 * keys with spaces and '+', ListObjectsV2 with prefix, delimiter and
 * max-keys pagination, a presigned GET fetched with plain HTTP, a presigned
 * PUT, DeleteObject (then 404 NoSuchKey), NoSuchBucket, AccessDenied on a
 * bucket outside the key's bucket=; refused with the
 * right S3 error and nothing written: a wrong access key, a wrong secret, a
 * tampered presigned signature, an expired presigned URL, a presigned URL
 * replayed for another object, X-Amz-Date 16 minutes off either way, a body
 * not matching x-amz-content-sha256, an aws-chunked upload (the SDK's
 * default for a stream body; stored once it is told not to); an object put
 * through S3 is read by the CloudBase SDK (get-objects-download-info) and
 * one uploaded by the CloudBase SDK is read through S3.
 *
 * MODE "db-up" instead puts keys whose byte order differs from a locale's
 * order and lists them (the listing must be in byte order on PostgreSQL
 * too); MODE "db-down", run once the database is stopped, expects
 * PutObject, DeleteObject and ListObjectsV2 to answer 503
 * ServiceUnavailable, nothing to be written, and GetObject of a public-read
 * bucket's object still to be served.
 *
 * Output: "ok - ..." / "not ok - ...: detail" lines, then exactly
 * "s3-endpoint: N/M checks passed"; exit 0 only when every check passed.
 */
'use strict'

const crypto = require('crypto')
const fs = require('fs')
const { Readable } = require('stream')

const [host, PREFIX, ENV, BUCKET, AK, SECRET_FILE, MODE = 'all'] = process.argv.slice(2)
const SK = fs.readFileSync(SECRET_FILE, 'utf8').replace(/\n$/, '')
const TIMEOUT = Number(process.env.SDK_TIMEOUT_MS || 15000)
let passed = 0
let total = 0
const out = (s) => process.stdout.write(`${s}\n`)
const short = (v) => {
  let s
  try { s = typeof v === 'string' ? v : (v instanceof Error ? `${v.name}: ${v.message}` : JSON.stringify(v)) } catch (e) { s = String(v) }
  return String(s).slice(0, 400)
}
function check(name, cond, detail) {
  total++
  if (cond) { passed++; out(`ok - ${name}`) } else out(`not ok - ${name}: ${short(detail)}`)
  return !!cond
}
function finish() {
  out(`s3-endpoint: ${passed}/${total} checks passed`)
  process.exit(total > 0 && passed === total ? 0 : 1)
}
setTimeout(() => { check('finished in time', false, 'watchdog'); finish() }, TIMEOUT * 8).unref()

async function attempt(fn) {
  try { return { ok: true, value: await fn() } } catch (e) { return { ok: false, error: e } }
}
const status = (r) => r.error && r.error.$metadata && r.error.$metadata.httpStatusCode
const refusedAs = (r, name, code) => !r.ok && r.error.name === name && status(r) === code

const {
  S3Client, PutObjectCommand, GetObjectCommand, HeadObjectCommand, DeleteObjectCommand,
  ListObjectsV2Command
} = require('@aws-sdk/client-s3')
const { getSignedUrl } = require('@aws-sdk/s3-request-presigner')

const endpoint = `http://${host}${PREFIX}`
// The SDK's defaults (a Buffer body goes with its SHA-256 and a CRC32
// header), but no retries: a refusal is final.
const client = (over = {}) => new S3Client({
  region: 'us-east-1',
  endpoint,
  forcePathStyle: true,
  credentials: { accessKeyId: AK, secretAccessKey: SK },
  maxAttempts: 1,
  ...over
})
const s3 = client()
const bodyOf = async (res) => Buffer.from(await res.Body.transformToByteArray())
const absent = async (key) => {
  const r = await attempt(() => s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })))
  return !r.ok && status(r) === 404
}
// httpd marks the ETag of a file modified within the last second weak
// (W/"..."), as for any static file; the opaque part is the same.
const sameETag = (a, b) => typeof a === 'string' && typeof b === 'string' && a.replace(/^W\//, '') === b.replace(/^W\//, '')
const xmlCode = (text) => (/<Code>([^<]*)<\/Code>/.exec(text) || [])[1]

async function listAll(params) {
  const pages = []
  let token
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ...params, ContinuationToken: token }))
    pages.push(page)
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token && pages.length < 20)
  return pages
}

async function roundTrip() {
  const content = crypto.randomBytes(70 * 1024)
  let r = await attempt(() => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'docs/a.bin', Body: content, ContentType: 'application/x-test' })))
  check('PutObject stores a 70 KiB object and answers a quoted ETag', r.ok && /^"[^"]+"$/.test(r.value.ETag), r.ok ? r.value : r.error)
  const etag = r.ok && r.value.ETag
  r = await attempt(async () => { const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'docs/a.bin' })); return { res, bytes: await bodyOf(res) } })
  check('GetObject returns the same bytes and type', r.ok && Buffer.compare(r.value.bytes, content) === 0 &&
    r.value.res.ContentType === 'application/x-test' && sameETag(r.value.res.ETag, etag), r.ok ? { type: r.value.res.ContentType, etag: r.value.res.ETag, put: etag } : r.error)
  r = await attempt(() => s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'docs/a.bin' })))
  check('HeadObject has the length and ETag', r.ok && r.value.ContentLength === content.length && sameETag(r.value.ETag, etag), r.ok ? r.value : r.error)
  const headETag = r.ok && r.value.ETag
  r = await attempt(() => s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'docs/a.bin', IfNoneMatch: headETag })))
  check('GetObject with If-None-Match of its ETag is 304', !r.ok && status(r) === 304, r.ok ? 'served' : r.error)
  r = await attempt(async () => { const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'docs/a.bin', Range: 'bytes=10-19' })); return { res, bytes: await bodyOf(res) } })
  check('GetObject with a Range returns those bytes', r.ok && Buffer.compare(r.value.bytes, content.subarray(10, 20)) === 0, r.ok ? r.value.res : r.error)

  for (const key of ['docs/b.txt', 'docs/sub/c.txt', 'docs/sub/d.txt', 'other/e.txt', 'docs/space key+plus (1).txt']) {
    r = await attempt(() => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from(`body of ${key}`) })))
    check(`PutObject ${key}`, r.ok, r.error)
  }
  r = await attempt(async () => { const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'docs/space key+plus (1).txt' })); return bodyOf(res) })
  check('a key with a space, + and parentheses round-trips', r.ok && r.value.toString() === 'body of docs/space key+plus (1).txt', r.ok ? r.value.toString() : r.error)

  const allDocs = ['docs/a.bin', 'docs/b.txt', 'docs/space key+plus (1).txt', 'docs/sub/c.txt', 'docs/sub/d.txt']
  r = await attempt(() => s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'docs/' })))
  check('ListObjectsV2 with a prefix lists its keys in order', r.ok && JSON.stringify((r.value.Contents || []).map((c) => c.Key)) === JSON.stringify(allDocs) &&
    r.value.KeyCount === 5 && r.value.IsTruncated === false && r.value.Contents[0].Size === content.length &&
    r.value.Contents[0].ETag === etag, r.ok ? r.value : r.error)
  r = await attempt(() => s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'docs/', Delimiter: '/' })))
  check('ListObjectsV2 with a delimiter groups CommonPrefixes', r.ok &&
    JSON.stringify((r.value.Contents || []).map((c) => c.Key)) === JSON.stringify(allDocs.slice(0, 3)) &&
    JSON.stringify((r.value.CommonPrefixes || []).map((c) => c.Prefix)) === '["docs/sub/"]' && r.value.KeyCount === 4,
  r.ok ? r.value : r.error)
  r = await attempt(() => listAll({ Prefix: 'docs/', MaxKeys: 2 }))
  check('ListObjectsV2 pages of 2 with continuation tokens cover every key once', r.ok && r.value.length === 3 &&
    r.value[0].IsTruncated === true && r.value[0].KeyCount === 2 && r.value[2].IsTruncated === false &&
    JSON.stringify(r.value.flatMap((p) => (p.Contents || []).map((c) => c.Key))) === JSON.stringify(allDocs),
  r.ok ? r.value.map((p) => [p.KeyCount, p.IsTruncated, (p.Contents || []).map((c) => c.Key)]) : r.error)
  r = await attempt(() => listAll({ Delimiter: '/', MaxKeys: 1 }))
  check('ListObjectsV2 pages of 1 with a delimiter: one common prefix per page', r.ok && r.value.length === 2 &&
    JSON.stringify(r.value.flatMap((p) => (p.CommonPrefixes || []).map((c) => c.Prefix))) === '["docs/","other/"]',
  r.ok ? r.value.map((p) => [p.KeyCount, p.IsTruncated, p.CommonPrefixes]) : r.error)
  r = await attempt(() => s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'docs/', StartAfter: 'docs/b.txt' })))
  check('ListObjectsV2 StartAfter', r.ok && r.value.KeyCount === 3 && r.value.Contents[0].Key === 'docs/space key+plus (1).txt', r.ok ? r.value : r.error)

  let url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'docs/a.bin' }), { expiresIn: 60 })
  r = await attempt(async () => { const res = await fetch(url); return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) } })
  check('a presigned GET fetched with plain HTTP returns the bytes', r.ok && r.value.status === 200 && Buffer.compare(r.value.bytes, content) === 0,
    r.ok ? r.value.status : r.error)
  url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned/put.txt' }), { expiresIn: 60 })
  r = await attempt(async () => (await fetch(url, { method: 'PUT', body: 'put through a presigned URL' })).status)
  check('a presigned PUT stores the object', r.ok && r.value === 200, r.ok ? r.value : r.error)
  r = await attempt(async () => bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned/put.txt' }))))
  check('... with its bytes', r.ok && r.value.toString() === 'put through a presigned URL', r.ok ? r.value.toString() : r.error)

  r = await attempt(() => s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'docs/b.txt' })))
  check('DeleteObject answers 204', r.ok && r.value.$metadata.httpStatusCode === 204, r.ok ? r.value : r.error)
  r = await attempt(() => s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'docs/b.txt' })))
  check('a deleted object is 404 NoSuchKey', refusedAs(r, 'NoSuchKey', 404), r.ok ? 'served' : r.error)
  r = await attempt(() => s3.send(new GetObjectCommand({ Bucket: 'nobucket', Key: 'x.txt' })))
  check('an unknown bucket is 404 NoSuchBucket', refusedAs(r, 'NoSuchBucket', 404), r.ok ? 'served' : r.error)
  r = await attempt(() => s3.send(new ListObjectsV2Command({ Bucket: 'admin' })))
  check('a bucket outside the key\'s bucket= is 403 AccessDenied', refusedAs(r, 'AccessDenied', 403), r.ok ? r.value : r.error)
  r = await attempt(() => s3.send(new PutObjectCommand({ Bucket: 'admin', Key: 'x.txt', Body: 'x' })))
  check('... for writes too', refusedAs(r, 'AccessDenied', 403), r.ok ? 'stored' : r.error)
  return content
}

async function refusals(content) {
  let r = await attempt(() => client({ credentials: { accessKeyId: 'AKIDNOSUCHKEY', secretAccessKey: SK } })
    .send(new PutObjectCommand({ Bucket: BUCKET, Key: 'neg/wrong-key.txt', Body: 'x' })))
  check('a wrong access key is 403 InvalidAccessKeyId', refusedAs(r, 'InvalidAccessKeyId', 403), r.ok ? 'stored' : r.error)
  check('... and nothing is written', await absent('neg/wrong-key.txt'))
  r = await attempt(() => client({ credentials: { accessKeyId: AK, secretAccessKey: SK + 'x' } })
    .send(new PutObjectCommand({ Bucket: BUCKET, Key: 'neg/wrong-secret.txt', Body: 'x' })))
  check('a header signature made with another secret is 403 SignatureDoesNotMatch', refusedAs(r, 'SignatureDoesNotMatch', 403), r.ok ? 'stored' : r.error)
  check('... and nothing is written', await absent('neg/wrong-secret.txt'))

  let url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: 'neg/tampered.txt' }), { expiresIn: 60 })
  const tampered = url.replace(/(X-Amz-Signature=[0-9a-f]*)([0-9a-f])/, (m, a, b) => a + (b === '0' ? '1' : '0'))
  r = await attempt(async () => { const res = await fetch(tampered, { method: 'PUT', body: 'x' }); return { status: res.status, code: xmlCode(await res.text()) } })
  check('a tampered presigned signature is 403 SignatureDoesNotMatch', r.ok && tampered !== url && r.value.status === 403 &&
    r.value.code === 'SignatureDoesNotMatch', r.ok ? r.value : r.error)
  check('... and nothing is written', await absent('neg/tampered.txt'))

  url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: 'neg/expired.txt' }),
    { expiresIn: 60, signingDate: new Date(Date.now() - 120 * 1000) })
  r = await attempt(async () => { const res = await fetch(url, { method: 'PUT', body: 'x' }); return { status: res.status, text: await res.text() } })
  check('an expired presigned PUT is 403 AccessDenied (Request has expired)', r.ok && r.value.status === 403 &&
    xmlCode(r.value.text) === 'AccessDenied' && /expired/.test(r.value.text), r.ok ? r.value : r.error)
  check('... and nothing is written', await absent('neg/expired.txt'))
  url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'docs/a.bin' }),
    { expiresIn: 1, signingDate: new Date(Date.now() - 5000) })
  r = await attempt(async () => { const res = await fetch(url); return { status: res.status, code: xmlCode(await res.text()) } })
  check('an expired presigned GET is 403 AccessDenied', r.ok && r.value.status === 403 && r.value.code === 'AccessDenied', r.ok ? r.value : r.error)

  url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'docs/a.bin' }), { expiresIn: 60 })
  r = await attempt(async () => { const res = await fetch(url.replace('/docs/a.bin?', '/docs/sub/c.txt?')); return { status: res.status, code: xmlCode(await res.text()) } })
  check('a presigned GET replayed for another object is 403 SignatureDoesNotMatch', r.ok && r.value.status === 403 &&
    r.value.code === 'SignatureDoesNotMatch', r.ok ? r.value : r.error)
  url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: 'neg/one.txt' }), { expiresIn: 60 })
  r = await attempt(async () => { const res = await fetch(url.replace('/neg/one.txt?', '/neg/two.txt?'), { method: 'PUT', body: 'x' }); return { status: res.status, code: xmlCode(await res.text()) } })
  check('a presigned PUT replayed for another object is 403 SignatureDoesNotMatch', r.ok && r.value.status === 403 &&
    r.value.code === 'SignatureDoesNotMatch', r.ok ? r.value : r.error)
  check('... and neither object is written', await absent('neg/two.txt') && await absent('neg/one.txt'))

  for (const minutes of [-16, 16]) {
    const key = `neg/skew${minutes}.txt`
    r = await attempt(() => client({ systemClockOffset: minutes * 60 * 1000 }).send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' })))
    check(`X-Amz-Date ${minutes} minutes off is 403 RequestTimeTooSkewed`, refusedAs(r, 'RequestTimeTooSkewed', 403), r.ok ? 'stored' : r.error)
    check('... and nothing is written', await absent(key))
  }

  const lying = client()
  lying.middlewareStack.add((next) => (args) => {
    args.request.headers['x-amz-content-sha256'] = crypto.createHash('sha256').update('another body').digest('hex')
    return next(args)
  }, { step: 'build', name: 'claimAnotherBodyHash' })
  r = await attempt(() => lying.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'neg/hash.txt', Body: 'this body' })))
  check('a body not matching its signed x-amz-content-sha256 is 400 XAmzContentSHA256Mismatch', refusedAs(r, 'XAmzContentSHA256Mismatch', 400), r.ok ? 'stored' : r.error)
  check('... and nothing is written', await absent('neg/hash.txt'))
  r = await attempt(() => lying.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'docs/a.bin', Body: 'this body' })))
  check('... nor is an existing object replaced', !r.ok && await attempt(async () => bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'docs/a.bin' }))))
    .then((g) => g.ok && Buffer.compare(g.value, content) === 0))

  const chunked = client()
  chunked.middlewareStack.add((next) => (args) => {
    args.request.headers['x-amz-content-sha256'] = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
    return next(args)
  }, { step: 'build', name: 'claimAwsChunked' })
  r = await attempt(() => chunked.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'neg/chunked.txt', Body: 'x' })))
  check('an aws-chunked upload is refused as 501 NotImplemented', refusedAs(r, 'NotImplemented', 501), r.ok ? 'stored' : r.error)
  check('... and nothing is written', await absent('neg/chunked.txt'))
  // A stream body: by default the SDK sends it aws-chunked with a trailing
  // checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
  r = await attempt(() => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'neg/stream.txt', Body: Readable.from([Buffer.from('streamed')]), ContentLength: 8 })))
  check('a stream body sent aws-chunked is refused as 501 NotImplemented', refusedAs(r, 'NotImplemented', 501), r.ok ? 'stored' : r.error)
  check('... and nothing is written', await absent('neg/stream.txt'))
  r = await attempt(() => client({ requestChecksumCalculation: 'WHEN_REQUIRED' }).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'neg/stream.txt', Body: Readable.from([Buffer.from('streamed')]), ContentLength: 8 })))
  check('with requestChecksumCalculation WHEN_REQUIRED the same stream is stored', r.ok, r.error)
  r = await attempt(async () => bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'neg/stream.txt' }))))
  check('... with its bytes', r.ok && r.value.toString() === 'streamed', r.ok ? r.value.toString() : r.error)
}

async function sameObjectsAsCloudBase() {
  for (const k of ['TENCENTCLOUD_SECRETID', 'TENCENTCLOUD_SECRETKEY', 'TENCENTCLOUD_SESSIONTOKEN',
    'CLOUDBASE_APIKEY', 'TCB_CONTEXT_KEYS', 'TCB_ENV', 'SCF_NAMESPACE']) delete process.env[k]
  const quiet = {}
  for (const k of ['log', 'info', 'warn', 'debug']) { quiet[k] = console[k]; console[k] = () => {} }
  const cloudbase = require('@cloudbase/js-sdk')
  const app = cloudbase.init({ env: ENV, accessKey: 'test-user-alice', timeout: TIMEOUT })
  app.registerHost(host, 'http')
  const fromS3 = Buffer.from('written through S3, read by the CloudBase SDK')
  let r = await attempt(() => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cross/from-s3.txt', Body: fromS3 })))
  check('PutObject cross/from-s3.txt', r.ok, r.error)
  const s3ID = `cloud://${ENV}.${BUCKET}/cross/from-s3.txt`
  r = await attempt(() => app.getTempFileURL({ fileList: [s3ID] }))
  check('get-objects-download-info signs the S3 object', r.ok && r.value.fileList[0].code === 'SUCCESS', r.ok ? r.value : r.error)
  r = await attempt(() => app.downloadFile({ fileID: s3ID }))
  check('the CloudBase SDK downloads the bytes put through S3', r.ok && Buffer.compare(Buffer.from(r.value.fileContent), fromS3) === 0, r.ok ? r.value : r.error)

  const fromCloudBase = Buffer.from('uploaded by the CloudBase SDK, read through S3')
  r = await attempt(() => app.uploadFile({ cloudPath: 'cross/from-cloudbase.txt', fileContent: fromCloudBase }))
  check('the CloudBase SDK uploads cross/from-cloudbase.txt', r.ok && r.value.fileID === `cloud://${ENV}.${BUCKET}/cross/from-cloudbase.txt`, r.ok ? r.value : r.error)
  r = await attempt(async () => bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cross/from-cloudbase.txt' }))))
  check('GetObject reads the object the CloudBase SDK uploaded', r.ok && Buffer.compare(r.value, fromCloudBase) === 0, r.ok ? r.value.toString() : r.error)
  r = await attempt(() => s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'cross/' })))
  check('ListObjectsV2 lists both', r.ok && JSON.stringify((r.value.Contents || []).map((c) => c.Key)) ===
    '["cross/from-cloudbase.txt","cross/from-s3.txt"]', r.ok ? r.value : r.error)
  r = await attempt(() => s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'cross/from-cloudbase.txt' })))
  check('a key that is not the admin may not delete alice\'s object (403 AccessDenied)', refusedAs(r, 'AccessDenied', 403), r.ok ? 'deleted' : r.error)
  for (const k of Object.keys(quiet)) console[k] = quiet[k]
}

const orderKeys = ['order/B.txt', 'order/a.txt', 'order/_u.txt', 'order/Z.txt', 'order/\u00e9.txt', 'order/e.txt', 'order/~.txt']

async function databaseUp() {
  for (const key of orderKeys) {
    const r = await attempt(() => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from(key) })))
    check(`PutObject ${key}`, r.ok, r.error)
  }
  const bytes = [...orderKeys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  let r = await attempt(() => listAll({ Prefix: 'order/', MaxKeys: 3 }))
  check('ListObjectsV2 pages of 3 list the keys in byte order', r.ok &&
    JSON.stringify(r.value.flatMap((p) => (p.Contents || []).map((c) => c.Key))) === JSON.stringify(bytes),
  r.ok ? r.value.flatMap((p) => (p.Contents || []).map((c) => c.Key)) : r.error)
  r = await attempt(() => s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Delimiter: '/' })))
  check('ListObjectsV2 with a delimiter has the common prefix order/', r.ok &&
    JSON.stringify((r.value.CommonPrefixes || []).map((c) => c.Prefix)) === '["order/"]', r.ok ? r.value : r.error)
}

async function databaseDown() {
  let r = await attempt(() => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'down/new.txt', Body: 'x' })))
  check('PutObject with the database down is 503 ServiceUnavailable', refusedAs(r, 'ServiceUnavailable', 503), r.ok ? 'stored' : r.error)
  r = await attempt(() => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'order/a.txt', Body: 'replaced' })))
  check('... also over an existing object', refusedAs(r, 'ServiceUnavailable', 503), r.ok ? 'stored' : r.error)
  r = await attempt(async () => bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'order/a.txt' }))))
  check('GetObject of a public-read object is still served, unchanged', r.ok && r.value.toString() === 'order/a.txt', r.ok ? r.value.toString() : r.error)
  r = await attempt(() => s3.send(new ListObjectsV2Command({ Bucket: BUCKET })))
  check('ListObjectsV2 with the database down is 503 ServiceUnavailable', refusedAs(r, 'ServiceUnavailable', 503), r.ok ? r.value : r.error)
  r = await attempt(() => s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'order/B.txt' })))
  check('DeleteObject with the database down is 503 ServiceUnavailable', refusedAs(r, 'ServiceUnavailable', 503), r.ok ? 'deleted' : r.error)
  r = await attempt(async () => bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'order/B.txt' }))))
  check('... and the object is still there', r.ok && r.value.toString() === 'order/B.txt', r.ok ? r.value.toString() : r.error)
}

async function main() {
  if (MODE === 'db-up') return databaseUp()
  if (MODE === 'db-down') return databaseDown()
  const content = await roundTrip()
  await refusals(content)
  await sameObjectsAsCloudBase()
}

main().catch((e) => check('no unexpected exception', false, e && e.stack)).finally(finish)
