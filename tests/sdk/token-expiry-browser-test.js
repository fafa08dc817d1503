/*
 * token-expiry-browser-test.js: drives the official SDK's browser build in
 * headless Chromium (playwright-core, /usr/bin/chromium) through an access
 * token expiry. The SDK refreshes on its own when its token is within 30 s
 * of the expiry it computed from expires_in and its clock, so after the
 * sign-in the page's clock is frozen two minutes back
 * (page.clock.setFixedTime): the SDK believes its token is still fresh and
 * sends it after the gateway's expiry, and the only way on is the gateway's
 * 401 {code:"ACCESS_TOKEN_EXPIRED"}, on which the SDK refreshes
 * (POST /auth/v1/token) and retries once. Checks that the call succeeds and
 * that the browser sent exactly: the call (401), one refresh (200), the call
 * again (200). Prints "ok ..." / "not ok ..." lines; exits 1 on a failure.
 *
 * Usage: node token-expiry-browser-test.js http://127.0.0.1:PORT/token-expiry.html TTL_MS
 */
'use strict'
const { chromium } = require('playwright-core')

const url = process.argv[2]
const ttlMs = Number(process.argv[3] || 2000)
let failures = 0
function check(name, ok, detail) {
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${ok ? '' : `: ${detail}`}`)
  if (!ok) failures++
  return ok
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  try {
    const page = await browser.newPage()
    const errors = []
    const exchanges = []
    page.on('pageerror', (e) => errors.push(String(e)))
    page.on('response', (r) => {
      const path = new URL(r.url()).pathname
      if (path.startsWith('/v1/') || path.startsWith('/auth/v1/'))
        exchanges.push(`${r.request().method()} ${path} ${r.status()}`)
    })
    await page.goto(url)
    await page.waitForFunction(() => document.body && document.body.dataset.ready === 'true',
      null, { timeout: 20000 }).catch(() => {})
    if (!check('the page loads the SDK', await page.evaluate(() => document.body.dataset.ready === 'true'),
      errors.join('; ') || 'not ready')) return
    await page.evaluate(() => window.signIn())
    await page.clock.setFixedTime(Date.now() - 120000)
    const signInExchanges = exchanges.length
    const first = await page.evaluate(() => window.callEcho())
    check('a call with a fresh token succeeds, without a refresh', first.ok &&
      JSON.stringify(exchanges.slice(signInExchanges)) === '["POST /v1/functions/echo-fn 200"]',
    `${first.error || ''} ${exchanges.slice(signInExchanges).join(', ')}`)
    await new Promise((resolve) => setTimeout(resolve, ttlMs + 1500))
    const mark = exchanges.length
    const second = await page.evaluate(() => window.callEcho())
    const after = exchanges.slice(mark)
    check('the call after the expiry succeeds (the SDK refreshed and retried)', second.ok,
      second.error)
    check('the SDK saw 401, refreshed once and retried once',
      JSON.stringify(after) === JSON.stringify(['POST /v1/functions/echo-fn 401',
        'POST /auth/v1/token 200', 'POST /v1/functions/echo-fn 200']), after.join(', '))
    console.log(`# exchanges: ${exchanges.join(', ')}`)
    check('no script errors on the page', errors.length === 0, errors.join('; '))
  } finally {
    await browser.close()
  }
}

main().catch((e) => { check('browser test ran', false, (e && e.stack) || e) })
  .finally(() => process.exit(failures ? 1 : 0))
