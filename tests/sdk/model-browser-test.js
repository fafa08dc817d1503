/*
 * model-browser-test.js: the model plugin from a web page in headless
 * Chromium (playwright-core, /usr/bin/chromium). A page on the gateway's
 * own origin loads the official @cloudbase/js-sdk browser build (the demo's
 * import map, as storage-browser-test.js does) and calls app.models:
 *  - a user signed in with a password creates three `post` records, lists
 *    them with a filter, orderBy and getCount, updates one (PUT) and reads
 *    it back with get, and deletes one; after each op the row set in the
 *    gateway's SQLite file (read with the sqlite3 CLI) must match what the
 *    SDK answered;
 *  - refused writes: the same user creating in an ADMINWRITE model, and an
 *    anonymous sign-in (in a fresh browser context) creating and updating
 *    in `post`: each rejects with the SDK's error carrying the gateway's
 *    answer (403, originError.code PERMISSION_DENIED, its requestId and
 *    message), and the database is unchanged.
 * Prints "ok ..." / "not ok ..." lines and exits 1 on any failure.
 *
 * Usage: node model-browser-test.js GATEWAY DIR DATABASE USERNAME PASSWORD
 * (GATEWAY an http://127.0.0.1:PORT origin whose docroot is DIR/docroot,
 * with /sdk/ serving tests/sdk/node_modules and /text-encoding.js; DATABASE
 * the gateway's SQLite file; environment "demo"; the models post (title
 * string, views number, tags array) and notice (permission=ADMINWRITE)).
 * CHROMIUM (default /usr/bin/chromium) names the browser binary;
 * DEBUG_LOG=1 prints the page's console and requests.
 */
'use strict'
const crypto = require('crypto')
const fs = require('fs')
const path = require('path')
const { execFileSync } = require('child_process')
const { chromium } = require('playwright-core')

const [gateway, dir, database, username, password] = process.argv.slice(2)
const suffix = crypto.createHash('sha256').update('demo').digest('hex').slice(0, 8)
const table = (model) => `"cbm_${model}_prod_${suffix}"`
let failures = 0
function check(name, ok, detail) {
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${ok ? '' : `: ${String(detail).slice(0, 600)}`}`)
  if (!ok) failures++
  return ok
}
const show = (r) => JSON.stringify(r)

// Rows of the gateway's database, read outside the gateway.
function sql(query) {
  const out = execFileSync('sqlite3', ['-json', '-cmd', '.timeout 5000', database, query],
    { encoding: 'utf8' })
  return out.trim() ? JSON.parse(out) : []
}
const isId = (id) => typeof id === 'string' && /^[0-9a-f]{32}$/.test(id)
const postRows = () => sql(`SELECT _id, title, views, owner FROM ${table('post')} ORDER BY views`)

// The page: the demo's import map, then one module that exposes the SDK
// calls the test evaluates. Errors come back as plain objects.
function pageHtml(importMap) {
  return `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">${importMap}
<script type="module">
import cloudbase from '@cloudbase/js-sdk'
const app = cloudbase.init({ env: 'demo' })
app.registerHost(location.host, location.protocol.replace(':', ''))
const auth = app.auth()
const asError = (e) => ({ name: e && e.name, code: e && e.code, message: String((e && e.message) || e),
  originError: e && e.originError ? { code: e.originError.code, requestId: e.originError.requestId } : null })
window.signInWithPassword = async (username, password) => {
  await auth.signInWithPassword({ username, password })
  const user = await auth.getCurrentUser()
  return user && (user.uid || user.sub)
}
window.signInAnonymously = async () => { await auth.signInAnonymously(); return true }
window.modelOp = async (model, op, params) => {
  try { return { ok: true, value: await app.models[model][op](params) } }
  catch (e) { return { ok: false, error: asError(e) } }
}
document.body.dataset.ready = 'true'
</script></head><body>model check</body></html>`
}

// A refused write: the op, with the gateway's answer as the browser got it.
async function refusedOp(page, model, name, params) {
  const path = `/v1/model/prod/${model}/${name}`
  const [answer, r] = await Promise.all([
    page.waitForResponse((x) => new URL(x.url()).pathname === path, { timeout: 20000 }),
    op(page, model, name, params)])
  return { r, status: answer.status(), body: await answer.json().catch(() => null) }
}
// The SDK rejects with the gateway's code, requestId and message (on
// originError and in the error's message), and the gateway answered 403.
function refused(x, code) {
  const o = !x.r.ok && x.r.error && x.r.error.originError
  return !!o && x.status === 403 && !!x.body && x.body.code === code && o.code === code &&
    isId(o.requestId) && o.requestId === x.body.requestId &&
    typeof x.body.message === 'string' && x.body.message !== '' && x.r.error.message.includes(x.body.message)
}

async function openPage(browser) {
  const context = await browser.newContext()
  const page = await context.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(String(e)))
  if (process.env.DEBUG_LOG) page.on('console', (m) => console.error('console:', m.text()))
  if (process.env.DEBUG_LOG) page.on('request', (r) => console.error('request:', r.method(), r.url()))
  await page.goto(`${gateway}/model-check.html`)
  await page.waitForFunction(() => document.body && document.body.dataset.ready === 'true', null,
    { timeout: 30000 }).catch(() => {})
  const ready = await page.evaluate(() => document.body && document.body.dataset.ready === 'true')
  return { context, page, ready, errors }
}
const op = (page, model, name, params) =>
  page.evaluate(([m, o, p]) => window.modelOp(m, o, p), [model, name, params])

async function signedInUser(browser) {
  const { context, page, ready, errors } = await openPage(browser)
  if (!check('the page loads the SDK', ready, errors.join('; ') || 'not ready')) return null
  const uid = await page.evaluate(([u, p]) => window.signInWithPassword(u, p), [username, password])
  const known = sql(`SELECT uid FROM auth_users WHERE username = '${username.replace(/'/g, "''")}'`)
  if (!check('the user signs in with the password', known.length === 1 && uid === known[0].uid,
    `${uid} vs ${show(known)}`)) return null

  const ids = []
  for (const views of [1, 2, 3]) {
    const r = await op(page, 'post', 'create', { data: { title: `browser ${views}`, views, tags: ['b'] } })
    ids.push(r.ok && r.value.data && r.value.data.id)
  }
  let rows = postRows()
  check('create: three ids, and the three rows are in the database as written, owned by the user',
    ids.every(isId) && show(rows) === show(ids.map((id, i) =>
      ({ _id: id, title: `browser ${i + 1}`, views: i + 1, owner: uid }))), `${show(ids)} ${show(rows)}`)

  let r = await op(page, 'post', 'list', { filter: { where: { views: { $gte: 2 } } },
    orderBy: [{ views: 'desc' }], pageSize: 10, getCount: true })
  const expected = sql(`SELECT _id FROM ${table('post')} WHERE views >= 2 ORDER BY views DESC`)
    .map((x) => x._id)
  check('list with a filter, orderBy and getCount gives the database\'s rows in order',
    r.ok && expected.length === 2 && r.value.data.total === expected.length &&
    show(r.value.data.records.map((x) => x._id)) === show(expected) &&
    r.value.data.records[0].title === 'browser 3', `${show(r)} vs ${show(expected)}`)

  r = await op(page, 'post', 'update', { filter: { where: { _id: { $eq: ids[0] } } },
    data: { title: 'changed in the browser' } })
  rows = postRows()
  check('update answers count 1 and changes only that row in the database',
    r.ok && r.value.data.count === 1 && rows.length === 3 && rows[0]._id === ids[0] &&
    rows[0].title === 'changed in the browser' && rows[1].title === 'browser 2' &&
    rows[2].title === 'browser 3', `${show(r)} ${show(rows)}`)
  r = await op(page, 'post', 'get', { filter: { where: { _id: { $eq: ids[0] } } } })
  check('get after the update reads the new title', r.ok && r.value.data &&
    r.value.data._id === ids[0] && r.value.data.title === 'changed in the browser', show(r))

  r = await op(page, 'post', 'delete', { filter: { where: { _id: { $eq: ids[1] } } } })
  rows = postRows()
  check('delete answers count 1 and the row is gone from the database',
    r.ok && r.value.data.count === 1 && show(rows.map((x) => x._id)) === show([ids[0], ids[2]]),
    `${show(r)} ${show(rows)}`)
  r = await op(page, 'post', 'list', { getCount: true })
  check('list after the delete counts the two rows left', r.ok && r.value.data.total === 2 &&
    r.value.data.records.every((x) => x._id !== ids[1]), show(r))

  // A refused write: the notice model lets only an admin write.
  r = await op(page, 'notice', 'list', { getCount: true })
  check('the ADMINWRITE model reads for the user', r.ok && r.value.data.total === 0, show(r))
  let x = await refusedOp(page, 'notice', 'create', { data: { title: 'not an admin' } })
  check('a create in the ADMINWRITE model: 403, the SDK rejects with the gateway\'s PERMISSION_DENIED',
    refused(x, 'PERMISSION_DENIED'), show(x))
  check('nothing was written to the ADMINWRITE model',
    sql(`SELECT count(*) AS n FROM ${table('notice')}`)[0].n === 0, 'rows found')
  check('no script errors on the signed-in page', errors.length === 0, errors.join('; '))
  await context.close()
  return ids
}

async function anonymousUser(browser, ids) {
  const before = show(postRows())
  const { context, page, ready, errors } = await openPage(browser)
  if (!check('the anonymous page loads the SDK', ready, errors.join('; ') || 'not ready')) return
  await page.evaluate(() => window.signInAnonymously())
  let x = await refusedOp(page, 'post', 'create', { data: { title: 'anonymous' } })
  check('an anonymous create: 403, the SDK rejects with the gateway\'s PERMISSION_DENIED',
    refused(x, 'PERMISSION_DENIED'), show(x))
  x = await refusedOp(page, 'post', 'update', { filter: { where: { _id: { $eq: ids[0] } } }, data: { title: 'anonymous' } })
  check('an anonymous update (PUT): 403, the SDK rejects with the gateway\'s PERMISSION_DENIED',
    refused(x, 'PERMISSION_DENIED'), show(x))
  check('the database is unchanged by the refused writes', show(postRows()) === before, show(postRows()))
  const r = await op(page, 'post', 'list', { getCount: true })
  check('the anonymous user still reads', r.ok && r.value.data.total === 2, show(r))
  check('no script errors on the anonymous page', errors.length === 0, errors.join('; '))
  await context.close()
}

async function main() {
  const index = fs.readFileSync(path.join(__dirname, '../../conf/demo/index.html'), 'utf8')
  const importMap = (index.match(/<script type="importmap">[\s\S]*?<\/script>/) || [])[0]
  if (!check('the demo page has an import map for the SDK', !!importMap, index.slice(0, 200))) return
  fs.writeFileSync(`${dir}/docroot/model-check.html`, pageHtml(importMap))
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  try {
    const ids = await signedInUser(browser)
    if (ids) await anonymousUser(browser, ids)
  } finally {
    await browser.close()
  }
}

main().catch((e) => { check('model browser test ran', false, (e && e.stack) || e) })
  .finally(() => process.exit(failures ? 1 : 0))
