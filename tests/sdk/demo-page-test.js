/*
 * demo-page-test.js: drives the demo's front page (conf/demo/) in headless
 * Chromium with playwright-core: signs in (anonymously, then as the demo
 * user), calls add-two from its panel, and checks that the answer 102 and a
 * request id appear on the page. Prints "ok ..." / "not ok ..." lines and
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
      if (screenshot) await page.screenshot({ path: screenshot, fullPage: true })
    }
    check('no script errors on the page', errors.length === 0, errors.join('; '))
  } finally {
    await browser.close()
  }
}

main().catch((e) => { check('page test ran', false, e && e.stack || e) })
  .finally(() => process.exit(failures ? 1 : 0))
