#!/usr/bin/env node
/*
 * storage-sdk-test.js -- real-client test of mod_cloudbase's storage plugin:
 * drives the official @cloudbase/js-sdk (node build, pinned in package.json)
 * against a running gateway with a local bucket.
 *
 *   node storage-sdk-test.js GATEWAY_HOST_PORT ENV BUCKET PRIVATE_BUCKET [alice|bob]
 *
 * The gateway must map the Bearer tokens test-user-alice / test-user-bob to
 * users alice and bob (tests/plugins/testplug's fake_identity); the SDK sends
 * init({accessKey}) as that Bearer on storage calls. With CB_TOKEN_ALICE /
 * CB_TOKEN_BOB set, those access tokens (real sign-ins, e.g. on the demo)
 * are sent instead.
 *
 * Steps: uploadFile (PUT, a Buffer), getTempFileURL, downloadFile (bytes
 * equal), getFileInfo (a HEAD with the Bearer), copyFile, deleteFile (then the
 * download fails and the earlier temp URL answers 404), uploadFile with method:'post' (the form upload, 201), and a
 * PRIVATE-bucket object alice uploaded; run again as bob (a separate process:
 * SDK instances of one env share their credentials), it is refused to him.
 *
 * Output: "ok - ..." / "not ok - ...: detail" lines, then exactly
 * "storage-sdk: N/M checks passed"; exit 0 only when every check passed.
 */
'use strict'

const [host = '127.0.0.1:8080', ENV = 'demo', BUCKET = 'files', PRIVATE = 'private', ROLE = 'alice'] =
  process.argv.slice(2)
const TIMEOUT = Number(process.env.SDK_TIMEOUT_MS || 15000)
let passed = 0
let total = 0
const out = (s) => process.stdout.write(`${s}\n`)
const short = (v) => {
  let s
  try { s = typeof v === 'string' ? v : JSON.stringify(v) } catch (e) { s = String(v) }
  return String(s).slice(0, 400)
}
function check(name, cond, detail) {
  total++
  if (cond) { passed++; out(`ok - ${name}`) } else out(`not ok - ${name}: ${short(detail)}`)
  return !!cond
}
function finish() {
  out(`storage-sdk: ${passed}/${total} checks passed`)
  process.exit(total > 0 && passed === total ? 0 : 1)
}
for (const k of ['log', 'info', 'warn', 'error', 'debug']) console[k] = () => {}
setTimeout(() => { check('finished in time', false, 'watchdog'); finish() }, TIMEOUT * 8).unref()

async function attempt(fn) {
  try { return { ok: true, value: await fn() } } catch (e) { return { ok: false, error: e } }
}

async function main() {
  for (const k of ['TENCENTCLOUD_SECRETID', 'TENCENTCLOUD_SECRETKEY', 'TENCENTCLOUD_SESSIONTOKEN',
    'CLOUDBASE_APIKEY', 'TCB_CONTEXT_KEYS', 'TCB_ENV', 'SCF_NAMESPACE']) delete process.env[k]
  const cloudbase = require('@cloudbase/js-sdk')
  const appFor = (user) => {
    const accessKey = process.env[`CB_TOKEN_${user.toUpperCase()}`] || `test-user-${user}`
    const app = cloudbase.init({ env: ENV, accessKey, timeout: TIMEOUT })
    app.registerHost(host, 'http')
    return app
  }
  const privateID = `cloud://${ENV}.${PRIVATE}/alice/secret.txt`
  if (ROLE === 'bob') {
    const bob = appFor('bob')
    const r = await attempt(() => bob.getTempFileURL({ fileList: [privateID] }))
    const refused = r.ok && r.value.fileList && r.value.fileList[0]
    check('bob is refused alice\'s PRIVATE object', refused && refused.code === 'PERMISSION_DENIED',
      r.ok ? r.value : r.error)
    return
  }
  const alice = appFor('alice')
  const content = Buffer.from('hello from the official SDK\n')
  const fileID = `cloud://${ENV}.${BUCKET}/sdk/hello.txt`

  let r = await attempt(() => alice.uploadFile({ cloudPath: 'sdk/hello.txt', fileContent: content }))
  check('uploadFile (PUT) returns the fileID', r.ok && r.value.fileID === fileID, r.ok ? r.value : r.error)

  r = await attempt(() => alice.getTempFileURL({ fileList: [fileID] }))
  const item = r.ok && r.value.fileList && r.value.fileList[0]
  check('getTempFileURL gives a URL', item && item.code === 'SUCCESS' && /^http:/.test(item.tempFileURL),
    r.ok ? r.value : r.error)

  r = await attempt(() => alice.downloadFile({ fileID }))
  check('downloadFile returns the same bytes', r.ok && Buffer.compare(Buffer.from(r.value.fileContent), content) === 0,
    r.ok ? r.value : r.error)

  if (typeof alice.getFileInfo === 'function') {
    r = await attempt(() => alice.getFileInfo({ fileList: [fileID] }))
    const info = r.ok && r.value.fileList && r.value.fileList[0]
    check('getFileInfo reads size and type (HEAD with Bearer)',
      info && Number(info.size) === content.length && /text\/plain/.test(info.contentType || info.mime || ''),
      r.ok ? r.value : r.error)
  }

  const copyID = `cloud://${ENV}.${BUCKET}/sdk/copy.txt`
  r = await attempt(() => alice.copyFile({ fileList: [{ srcPath: fileID, dstPath: copyID, overwrite: true, removeOriginal: false }] }))
  check('copyFile succeeds', r.ok && r.value.fileList && !r.value.fileList[0].code || (r.ok && r.value.fileList[0].code === 'SUCCESS'),
    r.ok ? r.value : r.error)
  r = await attempt(() => alice.downloadFile({ fileID: copyID }))
  check('the copy has the same bytes', r.ok && Buffer.compare(Buffer.from(r.value.fileContent), content) === 0,
    r.ok ? r.value : r.error)

  r = await attempt(() => alice.deleteFile({ fileList: [fileID, copyID] }))
  check('deleteFile succeeds for both', r.ok && r.value.fileList.length === 2 &&
    r.value.fileList.every((f) => f.code === 'SUCCESS'), r.ok ? r.value : r.error)
  r = await attempt(() => alice.downloadFile({ fileID }))
  check('a deleted file cannot be downloaded', !r.ok && /STORAGE_FILE_NONEXIST/.test(short(r.error)), r.ok ? r.value : r.error)
  if (item) {
    r = await attempt(() => fetch(item.tempFileURL))
    check('the deleted file\'s earlier temp URL answers 404', r.ok && r.value.status === 404,
      r.ok ? r.value.status : r.error)
  }

  r = await attempt(() => alice.uploadFile({ cloudPath: 'sdk/post.txt', fileContent: content, method: 'post' }))
  check('uploadFile with method:post (form upload, 201)', r.ok && r.value.fileID === `cloud://${ENV}.${BUCKET}/sdk/post.txt`,
    r.ok ? r.value : r.error)
  r = await attempt(() => alice.downloadFile({ fileID: `cloud://${ENV}.${BUCKET}/sdk/post.txt` }))
  check('the form upload has the same bytes', r.ok && Buffer.compare(Buffer.from(r.value.fileContent), content) === 0,
    r.ok ? r.value : r.error)

  r = await attempt(() => alice.uploadFile({ cloudPath: privateID, fileContent: content }))
  check('alice uploads to the PRIVATE bucket', r.ok && r.value.fileID === privateID, r.ok ? r.value : r.error)
  r = await attempt(() => alice.getTempFileURL({ fileList: [privateID] }))
  check('alice reads her PRIVATE object', r.ok && r.value.fileList[0].code === 'SUCCESS', r.ok ? r.value : r.error)
}

main().catch((e) => check('no unexpected exception', false, e && e.stack)).finally(finish)
