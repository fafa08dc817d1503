#!/usr/bin/env node
/*
 * storage-backends-sdk-test.js -- real-client test of mod_cloudbase's remote
 * buckets (backend=s3 and backend=cos): drives the official
 * @cloudbase/js-sdk (node build, pinned) against a running gateway whose
 * bucket BUCKET is kept by an object store (tests/sdk/s3-peer.js or
 * cos-peer.js), so the upload PUT and the download GET go from the SDK
 * straight to that store with the URLs the gateway signed.
 *
 *   node storage-backends-sdk-test.js GATEWAY_HOST_PORT ENV BUCKET STORE_HOST_PORT
 *
 * STORE_HOST_PORT is where the signed URLs must point (e.g.
 * 127.0.0.1:9000, or files.s3.localhost:9000 for a virtual-hosted bucket).
 * Names under .localhost resolve to 127.0.0.1 for this process (curl does
 * that itself; node's resolver is told here, as an /etc/hosts line would).
 *
 * Steps, each an "ok - ..." / "not ok - ...: detail" line: uploadFile (PUT
 * of a Buffer, for a plain name and one with a space and parentheses),
 * getTempFileURL (a URL of the store), downloadFile (bytes equal: the URL
 * survives the SDK's encodeURI), copyFile and download of the copy,
 * deleteFile of all three (the store's own URL then answers 404), then
 * downloadFile of a deleted one fails.
 * Ends with "storage-backends-sdk: N/M checks passed"; exit 0 only when all
 * passed.
 */
'use strict'
const dns = require('dns')

const [host, ENV, BUCKET, STORE] = process.argv.slice(2)
const TIMEOUT = Number(process.env.SDK_TIMEOUT_MS || 15000)
let passed = 0
let total = 0
const out = (s) => process.stdout.write(`${s}\n`)
const short = (v) => {
  let s
  try { s = typeof v === 'string' ? v : JSON.stringify(v) } catch (e) { s = String(v) }
  if (v instanceof Error) s = v.message
  return String(s).slice(0, 600)
}
function check (name, cond, detail) {
  total++
  if (cond) { passed++; out(`ok - ${name}`) } else out(`not ok - ${name}: ${short(detail)}`)
  return !!cond
}
function finish () {
  out(`storage-backends-sdk: ${passed}/${total} checks passed`)
  process.exit(total > 0 && passed === total ? 0 : 1)
}
for (const k of ['log', 'info', 'warn', 'error', 'debug']) console[k] = () => {}
setTimeout(() => { check('finished in time', false, 'watchdog'); finish() }, TIMEOUT * 8).unref()

const realLookup = dns.lookup
dns.lookup = function (name, options, callback) {
  if (typeof options === 'function') { callback = options; options = {} }
  if (typeof name === 'string' && /\.localhost$/i.test(name)) {
    if (options && options.all) return process.nextTick(callback, null, [{ address: '127.0.0.1', family: 4 }])
    return process.nextTick(callback, null, '127.0.0.1', 4)
  }
  return realLookup.call(dns, name, options, callback)
}

async function attempt (fn) {
  try { return { ok: true, value: await fn() } } catch (e) { return { ok: false, error: e } }
}

async function main () {
  for (const k of ['TENCENTCLOUD_SECRETID', 'TENCENTCLOUD_SECRETKEY', 'TENCENTCLOUD_SESSIONTOKEN',
    'CLOUDBASE_APIKEY', 'TCB_CONTEXT_KEYS', 'TCB_ENV', 'SCF_NAMESPACE']) delete process.env[k]
  const cloudbase = require('@cloudbase/js-sdk')
  const app = cloudbase.init({ env: ENV, accessKey: 'test-user-alice', timeout: TIMEOUT })
  app.registerHost(host, 'http')
  const ids = []
  for (const [path, text] of [['sdk/hello.txt', 'hello from the official SDK\n'],
    ['sdk/hello world (1).txt', 'a name the store key cannot hold as is\n']]) {
    const content = Buffer.from(text)
    const fileID = `cloud://${ENV}.${BUCKET}/${path}`
    let r = await attempt(() => app.uploadFile({ cloudPath: path, fileContent: content }))
    check(`uploadFile ${path} (PUT to the store) returns the fileID`, r.ok && r.value.fileID === fileID, r.ok ? r.value : r.error)
    r = await attempt(() => app.getTempFileURL({ fileList: [fileID] }))
    const item = r.ok && r.value.fileList && r.value.fileList[0]
    check(`getTempFileURL ${path} is a URL of the store`, item && item.code === 'SUCCESS' &&
      item.tempFileURL.startsWith(`http://${STORE}/`) && encodeURI(item.tempFileURL) === item.tempFileURL,
    r.ok ? r.value : r.error)
    r = await attempt(() => app.downloadFile({ fileID }))
    check(`downloadFile ${path} returns the same bytes`, r.ok && Buffer.compare(Buffer.from(r.value.fileContent), content) === 0,
      r.ok ? r.value : r.error)
    ids.push([fileID, content, item && item.tempFileURL])
  }
  const [fileID, content] = ids[0]
  const copyID = `cloud://${ENV}.${BUCKET}/sdk/copy.txt`
  let r = await attempt(() => app.copyFile({ fileList: [{ srcPath: fileID, dstPath: copyID, overwrite: true, removeOriginal: false }] }))
  check('copyFile (done by the gateway in the store) succeeds', r.ok && r.value.fileList && r.value.fileList[0] &&
    (!r.value.fileList[0].code || r.value.fileList[0].code === 'SUCCESS'), r.ok ? r.value : r.error)
  r = await attempt(() => app.downloadFile({ fileID: copyID }))
  check('the copy has the same bytes', r.ok && Buffer.compare(Buffer.from(r.value.fileContent), content) === 0,
    r.ok ? r.value : r.error)
  const all = [fileID, ids[1][0], copyID]
  r = await attempt(() => app.deleteFile({ fileList: all }))
  check('deleteFile (done by the gateway in the store) succeeds for all three', r.ok && r.value.fileList.length === 3 &&
    r.value.fileList.every((f) => f.code === 'SUCCESS'), r.ok ? r.value : r.error)
  r = await attempt(() => fetch(ids[0][2]))
  check('the store no longer has a deleted object (its signed URL answers 404)', r.ok && r.value.status === 404,
    r.ok ? r.value.status : r.error)
  r = await attempt(() => app.downloadFile({ fileID }))
  check('a deleted file cannot be downloaded', !r.ok && /STORAGE_FILE_NONEXIST/.test(short(r.error)), r.ok ? r.value : r.error)
}

main().catch((e) => check('no unexpected exception', false, e && e.stack)).finally(finish)
