/*
 * demo-page-test.js: drives the demo's front page (conf/demo/) in headless
 * Chromium with playwright-core: signs in (anonymously, then as the demo
 * user), calls add-two from its panel, and checks that the answer 102 and a
 * request id appear on the page. Then, as the demo user, its storage panel:
 * uploads a file (the SDK's upload info and signed PUT), checks the listed
 * download link serves the same bytes (in the page and outside it), deletes
 * the file and checks the link then answers 404. Prints "ok ..." / "not ok ..." lines and
 * exits 1 on any failure.
 *
 * Usage: node demo-page-test.js http://127.0.0.1:PORT [SCREENSHOT.png]
 * CHROMIUM (default /usr/bin/chromium) names the browser binary.
 */
'use strict'
const { chromium } = require('playwright-core')

const origin = process.argv[2]
const screenshot = process.argv[3]
let failures = 0
function check(name, ok, detail) {
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${ok ? '' : `: ${detail}`}`)
  if (!ok) failures++
  return ok
}

async function callAddTwo(page, label) {
  const panel = page.locator('#panel-add-two')
  const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/functions/add-two',
    { timeout: 20000 })
  await panel.locator('button.run').click()
  const gatewayId = (await answered).headers()['x-request-id']
  await page.waitForFunction(() => {
    const a = document.querySelector('#panel-add-two .answer')
    return a && /\b(ok|error)\b/.test(a.className)
  }, null, { timeout: 20000 })
  const answer = (await panel.locator('.answer').textContent()).trim()
  const requestId = (await panel.locator('.request-id').textContent()).trim()
  check(`${label}: add-two answers 102 on the page`, answer === '102', answer)
  check(`${label}: the request id shown is the gateway's X-Request-Id`,
    /^[A-Za-z0-9._:-]{8,}$/.test(requestId) && requestId === gatewayId,
    `page ${requestId}, X-Request-Id ${gatewayId}`)
}

async function waitStorageStatus(page, expect) {
  await page.waitForFunction(() => /\b(ok|error)\b/.test(document.getElementById('storage-status').className),
    null, { timeout: 20000 })
  const status = (await page.locator('#storage-status').textContent()).trim()
  return { ok: expect.test(status), status }
}

// Uploads through the panel; returns the download link it lists (or null).
async function uploadThroughPanel(page, content) {
  const panel = page.locator('#panel-storage')
  check('the storage panel is on the page', await panel.count() === 1, 'no #panel-storage')
  await panel.locator('input[type=file]').setInputFiles({ name: 'hello.txt', mimeType: 'text/plain', buffer: content })
  const put = page.waitForResponse((r) => r.request().method() === 'PUT' &&
    new URL(r.url()).pathname === '/v1/storages/file/files/uploads/hello.txt', { timeout: 20000 })
  await panel.locator('button.run').click()
  const putStatus = (await put).status()
  const done = await waitStorageStatus(page, /^Uploaded hello\.txt \(\d+ B\) as cloud:\/\/demo\.files\/uploads\/hello\.txt\.$/)
  check('the panel uploads hello.txt (a signed PUT, 200)', done.ok && putStatus === 200, `${putStatus} ${done.status}`)
  const link = panel.locator('#storage-files li a.download')
  if (!check('the panel lists the file with a download link', await link.count() === 1 &&
    (await link.textContent()) === 'hello.txt', await panel.innerHTML())) return null
  return link.getAttribute('href')
}

async function storagePanel(page, origin) {
  const content = Buffer.from(`hello from the demo page ${Date.now()}\n`)
  const href = await uploadThroughPanel(page, content)
  if (!href) return false
  const inPage = await page.evaluate(async (url) => {
    const r = await fetch(url)
    return { status: r.status, type: r.headers.get('content-type'), text: await r.text() }
  }, href)
  check('the link downloads the same bytes in the page (text/plain)',
    inPage.status === 200 && inPage.text === content.toString() && /^text\/plain/.test(inPage.type),
    JSON.stringify(inPage))
  check('the link is a signed URL on the gateway', href.startsWith(`${origin}/v1/storages/file/files/`) &&
    /[?&]sign=[0-9a-f]{64}\b/.test(href), href)
  const outside = await fetch(href)
  check('the link downloads the same bytes outside the page', outside.status === 200 &&
    (await outside.text()) === content.toString(), outside.status)
  return href
}

async function deleteThroughPanel(page, href) {
  const panel = page.locator('#panel-storage')
  await panel.locator('#storage-files li button.delete').click()
  const done = await waitStorageStatus(page, /^Deleted hello\.txt\.$/)
  check('the panel deletes the file and unlists it',
    done.ok && await panel.locator('#storage-files li').count() === 0, done.status)
  const gone = await fetch(href)
  check('the deleted file\'s link answers 404', gone.status === 404, gone.status)
}

async function signIn(page, button, expect) {
  await page.locator(button).click()
  await page.waitForFunction(() => /\b(ok|error)\b/.test(document.getElementById('signin-status').className),
    null, { timeout: 20000 })
  const status = (await page.locator('#signin-status').textContent()).trim()
  return check(`sign-in (${button}) succeeds`, expect.test(status), status)
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 760 } })
    const errors = []
    page.on('pageerror', (e) => errors.push(String(e)))
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
    await page.goto(`${origin}/`)
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 20000 })
      .catch(() => {})
    if (!check('the page loads the SDK and renders its panels',
      await page.evaluate(() => document.body.dataset.ready === 'true'), errors.join('; ') || 'not ready')) return
    check('add-two cannot be called before signing in',
      await page.locator('#panel-add-two button.run').isDisabled(), 'button enabled')
    if (await signIn(page, '#signin-anonymous', /^Signed in anonymously\b/))
      await callAddTwo(page, 'anonymous')
    if (await signIn(page, '#signin-password button', /^Signed in as demo\b/)) {
      await callAddTwo(page, 'demo user')
      const href = await storagePanel(page, origin)
      if (screenshot) await page.screenshot({ path: screenshot, fullPage: true })
      if (href) await deleteThroughPanel(page, href)
    }
    check('no script errors on the page', errors.length === 0, errors.join('; '))
  } finally {
    await browser.close()
  }
}

main().catch((e) => { check('page test ran', false, e && e.stack || e) })
  .finally(() => process.exit(failures ? 1 : 0))
