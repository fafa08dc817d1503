/*
 * status-refresh-test.js: the uptime status page in headless Chromium
 * (playwright-core): loads it with its Content-Security-Policy, puts a
 * marker on window, calls the push URL given (a push monitor shown as Down
 * goes Up at its next check), and waits for the page's script to show the
 * monitor Up without a reload (the marker is still there, the page was
 * loaded once, its script fetched the page again). No Content-Security-
 * Policy violation and no script error may be reported. Prints "ok ..." /
 * "not ok ..." lines and exits 1 on any failure.
 *
 * Usage: node status-refresh-test.js http://127.0.0.1:PORT /status MONITOR /api/push/TOKEN
 * CHROMIUM (default /usr/bin/chromium) names the browser binary.
 */
'use strict'
const { chromium } = require('playwright-core')

const [origin, pagePath, monitor, pushPath] = process.argv.slice(2)
let failures = 0
function check(name, ok, detail) {
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${ok ? '' : `: ${detail}`}`)
  if (!ok) failures++
  return ok
}

function pillOf(name) {
  const h = document.getElementById(`m-${name}`)
  const pill = h && h.parentNode.querySelector('.pill')
  return pill ? pill.textContent : null
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } })
    const errors = []
    let loads = 0, refetches = 0
    page.on('pageerror', (e) => errors.push(String(e)))
    // failed loads are judged by the response listener below (Chromium asks
    // for /favicon.ico on its own; the gateway's site has none)
    page.on('console', (m) => {
      if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) errors.push(m.text())
    })
    page.on('response', (r) => {
      if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico')
        errors.push(`${r.status()} for ${r.url()}`)
    })
    page.on('load', () => loads++)
    page.on('request', (r) => {
      if (r.resourceType() === 'fetch' && new URL(r.url()).pathname === pagePath) refetches++
    })
    // installed before the page's own content, so no violation is missed
    await page.addInitScript(() => {
      window.__violations = []
      document.addEventListener('securitypolicyviolation',
        (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`))
    })
    const answer = await page.goto(`${origin}${pagePath}`)
    check('the page is served with script-src \'self\'',
      /script-src 'self'/.test(answer.headers()['content-security-policy'] || ''),
      answer.headers()['content-security-policy'])
    const before = await page.evaluate(pillOf, monitor)
    if (!check(`${monitor} is shown Down at first`, before === 'Down', before)) return
    await page.evaluate(() => { window.__marker = 'still here' })
    // A 503 says "the push could not be stored; try again" (Redis slower
    // than the gateway's timeout on a loaded machine): a push client retries.
    let pushed
    for (let attempt = 0; attempt < 10; attempt++) {
      pushed = await fetch(`${origin}${pushPath}`)
      if (pushed.status !== 503) break
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
    check('the push is accepted', pushed.status === 200, pushed.status)
    const shown = await page.waitForFunction((name) => {
      const h = document.getElementById(`m-${name}`)
      const pill = h && h.parentNode.querySelector('.pill')
      return pill && pill.textContent === 'Up'
    }, monitor, { timeout: 25000, polling: 100 }).then(() => true, () => false)
    check(`${monitor} is shown Up after the push, in place`, shown,
      await page.evaluate(pillOf, monitor))
    check('the page was not reloaded (the marker survived, one load)',
      await page.evaluate(() => window.__marker) === 'still here' && loads === 1,
      `marker ${await page.evaluate(() => window.__marker)}, loads ${loads}`)
    check('the script fetched the page again', refetches >= 1, refetches)
    check('the refreshed page still has its bars and charts',
      await page.evaluate(() => document.querySelectorAll('svg.bars rect').length) > 0, 'no bars')
    const violations = await page.evaluate(() => window.__violations)
    check('no Content-Security-Policy violation', violations.length === 0, violations.join('; '))
    check('no script error', errors.length === 0, errors.join('; '))
  } finally {
    await browser.close()
  }
}

main().then(() => process.exit(failures ? 1 : 0),
  (e) => { console.log(`not ok - ${e.stack || e}`); process.exit(1) })
