/*
 * storage-browser-test.js: storage from a web page in headless Chromium
 * (playwright-core, /usr/bin/chromium), against the demo gateway. A page
 * that loads the official @cloudbase/js-sdk browser build (the demo's
 * import map, served by the page's own origin) signs in anonymously,
 * uploads a File with app.uploadFile (the upload info, then the PUT with
 * `authorization`, `x-cos-meta-fileid` and `x-cos-security-token`), gets a
 * download URL with app.getTempFileURL and fetches it back:
 *  - from the gateway's own origin;
 *  - from an allowed other origin (another loopback port, in
 *    CloudBaseSecureDomains): every call is cross-origin, so the browser
 *    preflights the PUT; the access log must show that OPTIONS answered
 *    and the PUT after it, and the gateway's preflight answer must allow
 *    the PUT's headers;
 *  - from a refused origin (not in the list): the SDK's calls fail, a raw
 *    PUT with a valid upload info (made outside the browser) is blocked
 *    at its preflight, and nothing is stored.
 * Prints "ok ..." / "not ok ..." lines and exits 1 on any failure.
 *
 * Usage: node storage-browser-test.js GATEWAY ALLOWED_ORIGIN REFUSED_ORIGIN DIR
 * (each an http://host:port origin served by the demo's httpd; DIR is the
 * demo's directory: the page is written to DIR/docroot/storage-check.html,
 * the access log is DIR/access.log). A real server serves the page: Chromium
 * lets only a page from a loopback address call a loopback one (Local
 * Network Access). CHROMIUM (default /usr/bin/chromium) names the browser
 * binary; DEBUG_LOG=1 prints the pages' console and requests.
 */
'use strict'
const fs = require('fs')
const { chromium } = require('playwright-core')

const [gateway, allowed, refused, dir] = process.argv.slice(2)
const accessLog = `${dir}/access.log`
let failures = 0
function check(name, ok, detail) {
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${ok ? '' : `: ${String(detail).slice(0, 600)}`}`)
  if (!ok) failures++
  return ok
}

// The page: the demo's import map, then one module that does the round
// trip and writes the outcome into body[data-result]. With ?raw=1 it only
// PUTs to the upload info passed in ?info= (no SDK calls).
function pageHtml(importMap) {
  return `<!doctype html><html><head><meta charset="utf-8">${importMap}
<script type="module">
const q = new URLSearchParams(location.search)
const done = (r) => { document.body.dataset.result = JSON.stringify(r) }
const why = (e) => e instanceof Error ? \`\${e.name}: \${e.message}\` : JSON.stringify(e)
async function roundTrip() {
  const { default: cloudbase } = await import('@cloudbase/js-sdk')
  const gw = new URL(q.get('gateway'))
  const app = cloudbase.init({ env: 'demo' })
  app.registerHost(gw.host, gw.protocol.replace(':', ''))
  await app.auth().signInAnonymously()
  const content = q.get('content')
  const file = new File([content], 'page.txt', { type: 'text/plain' })
  const { fileID } = await app.uploadFile({ cloudPath: q.get('path'), filePath: file })
  const res = await app.getTempFileURL({ fileList: [fileID] })
  const url = res.fileList[0].tempFileURL
  const r = await fetch(url)
  return { ok: true, fileID, url, status: r.status, text: await r.text() }
}
async function rawPut() {
  const info = JSON.parse(q.get('info'))
  const r = await fetch(info.uploadUrl, { method: 'PUT', body: q.get('content'), headers: {
    authorization: info.authorization, 'x-cos-meta-fileid': info.cloudObjectMeta,
    'x-cos-security-token': info.token } })
  return { ok: true, status: r.status }
}
;(q.get('raw') ? rawPut() : roundTrip()).then(done, (e) => done({ ok: false, error: why(e) }))
</script></head><body>storage check</body></html>`
}

async function runPage(browser, origin, params) {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    const errors = []
    page.on('pageerror', (e) => errors.push(String(e)))
    page.on('requestfailed', (r) => errors.push(`${r.method()} ${r.url()}: ${r.failure() && r.failure().errorText}`))
    if (process.env.DEBUG_LOG) page.on('console', (m) => console.error('console:', m.text()))
    if (process.env.DEBUG_LOG) page.on('request', (r) => console.error('request:', r.method(), r.url()))
    await page.goto(`${origin}/storage-check.html?${new URLSearchParams(params)}`)
    await page.waitForFunction(() => document.body && document.body.dataset.result, null, { timeout: 30000 })
      .catch(() => {})
    const result = await page.evaluate(() => document.body && document.body.dataset.result)
    if (!result) return { ok: false, error: `no result; ${errors.join('; ')}` }
    return Object.assign(JSON.parse(result), errors.length ? { failed: errors.join('; ') } : {})
  } finally {
    await context.close()
  }
}

async function signedUploadInfo(objectId) {
  const signin = await (await fetch(`${gateway}/auth/v1/signin/anonymously`,
    { method: 'POST', headers: { 'x-device-id': 'storage-browser-test' } })).json()
  const info = await (await fetch(`${gateway}/v1/storages/get-objects-upload-info`, {
    method: 'POST', headers: { Authorization: `Bearer ${signin.access_token}` },
    body: JSON.stringify([{ objectId }]),
  })).json()
  return info[0]
}

// The gateway's own answer to the preflight a browser sends for the PUT.
async function preflight(url, origin) {
  const headers = 'authorization,content-type,x-cos-meta-fileid,x-cos-security-token,x-sdk-version'
  const r = await fetch(url, { method: 'OPTIONS', headers: {
    Origin: origin, 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': headers } })
  return { status: r.status, origin: r.headers.get('access-control-allow-origin'),
    methods: r.headers.get('access-control-allow-methods') || '',
    headers: (r.headers.get('access-control-allow-headers') || '').toLowerCase() }
}

async function roundTrip(browser, label, origin) {
  const path = `browser/${label}.txt`
  const content = `uploaded from the ${label} page ${Date.now()}`
  const r = await runPage(browser, origin, { gateway, path, content })
  check(`${label}: the page uploads with the SDK and downloads the same bytes`,
    r.ok && r.fileID === `cloud://demo.files/${path}` && r.status === 200 && r.text === content,
    JSON.stringify(r))
  return r
}

async function main() {
  const index = await (await fetch(`${gateway}/index.html`)).text()
  const importMap = (index.match(/<script type="importmap">[\s\S]*?<\/script>/) || [])[0]
  if (!check('the demo page has an import map for the SDK', !!importMap, index.slice(0, 200))) return
  fs.writeFileSync(`${dir}/docroot/storage-check.html`, pageHtml(importMap))
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  try {
    await roundTrip(browser, 'same-origin', gateway)

    const objectPath = '/v1/storages/file/files/browser/allowed-origin.txt'
    const cross = await roundTrip(browser, 'allowed-origin', allowed)
    const log = fs.existsSync(accessLog) ? fs.readFileSync(accessLog, 'utf8').split('\n') : []
    const optionsAt = log.findIndex((l) => l.startsWith(`OPTIONS ${objectPath} ${allowed} 204`))
    const putAt = log.findIndex((l) => l.startsWith(`PUT ${objectPath} ${allowed} 200`))
    check('allowed-origin: the browser preflighted the PUT (204), then sent it (200)',
      cross.ok && optionsAt >= 0 && putAt > optionsAt, log.filter((l) => l.includes(objectPath)).join(' | '))
    const url = `${gateway}${objectPath}`
    const pre = await preflight(url, allowed)
    check('allowed-origin: the preflight allows PUT (each method once) with authorization, content-type and x-cos-* headers',
      pre.status === 204 && pre.origin === allowed && pre.methods === 'PUT, POST, GET, HEAD' &&
      ['authorization', 'content-type', 'x-cos-meta-fileid', 'x-cos-security-token']
        .every((h) => pre.headers.split(/\s*,\s*/).includes(h)), JSON.stringify(pre))
    if (cross.ok) {
      const dl = await fetch(cross.url, { headers: { Origin: allowed } })
      check('allowed-origin: the download answer carries Access-Control-Allow-Origin',
        dl.status === 200 && dl.headers.get('access-control-allow-origin') === allowed,
        `${dl.status} ${dl.headers.get('access-control-allow-origin')}`)
    }

    const refusedPath = 'browser/refused-origin.txt'
    let r = await runPage(browser, refused, { gateway, path: refusedPath, content: 'refused' })
    check('refused-origin: the SDK round trip fails (the browser blocks its calls)',
      !r.ok && /ERR_FAILED/.test(r.failed || ''), JSON.stringify(r))
    const info = await signedUploadInfo(refusedPath)
    r = await runPage(browser, refused, { raw: '1', info: JSON.stringify(info), content: 'refused' })
    check('refused-origin: a PUT with a valid upload info is blocked', !r.ok && /TypeError/.test(r.error),
      JSON.stringify(r))
    const refusedLog = fs.readFileSync(accessLog, 'utf8').split('\n')
      .filter((l) => l.includes('/browser/refused-origin.txt'))
    check('refused-origin: the gateway refused the PUT\'s preflight (403) and no PUT came',
      refusedLog.length === 1 && refusedLog[0] ===
        `OPTIONS /v1/storages/file/files/browser/refused-origin.txt ${refused} 403`, refusedLog.join(' | '))
    const pre2 = await preflight(info.uploadUrl, refused)
    check('refused-origin: the gateway refuses its preflight (403, no CORS headers)',
      pre2.status === 403 && pre2.origin === null && pre2.headers === '', JSON.stringify(pre2))
    const stored = await fetch(info.downloadUrl)
    check('refused-origin: nothing was stored', stored.status === 404, stored.status)
  } finally {
    await browser.close()
  }
}

main().catch((e) => { check('storage browser test ran', false, e && e.stack || e) })
  .finally(() => process.exit(failures ? 1 : 0))
