#!/usr/bin/env node
/*
 * model-sdk-test.js -- real-client test of mod_cloudbase's model plugin:
 * drives the official @cloudbase/js-sdk (node build, pinned in package.json)
 * against a running gateway that serves a model `post` (schema: title
 * string required maxLength 50, views number, published boolean, tags
 * array) with the default permission (everyone reads, the creator writes).
 *
 *   node model-sdk-test.js GATEWAY_HOST_PORT ENV alice|bob|verify|anonymous
 *
 * The gateway maps Bearer test-user-NAME to user NAME and test-anonymous to
 * an anonymous user (tests/plugins/testplug's fake_identity); the SDK sends
 * init({accessKey}) as that Bearer on model calls. Each role runs in its own
 * process (SDK instances of one env share their credentials).
 *
 * alice: every op (create, createMany, get, list with filter/select/
 * orderBy/pageSize/pageNumber/getCount, update and updateMany as PUT,
 * upsert both ways, delete, deleteMany, envType pre kept apart), the
 * errors (unknown field, wrong type, unknown operator, injection in a
 * field name, orderBy and select, a 1000-deep filter, a 100k $in) with the
 * originError shape {code, message, requestId}, and injection attempts as
 * values that stay data. bob: updateMany/deleteMany matching every record
 * change only his own. verify: alice's records are as she left them.
 * anonymous: a refused write (PERMISSION_DENIED), reads allowed.
 *
 * Output: "ok - ..." / "not ok - ...: detail" lines, then exactly
 * "model-sdk: N/M checks passed"; exit 0 only when every check passed.
 */
'use strict'

const [host = '127.0.0.1:8080', ENV = 'demo', ROLE = 'alice'] = process.argv.slice(2)
const TIMEOUT = Number(process.env.SDK_TIMEOUT_MS || 15000)
let passed = 0
let total = 0
const out = (s) => process.stdout.write(`${s}\n`)
const short = (v) => {
  let s
  try { s = typeof v === 'string' ? v : JSON.stringify(v) } catch (e) { s = String(v) }
  if (v && v.originError) s = `${s} originError=${JSON.stringify(v.originError)} message=${v.message}`
  return String(s).slice(0, 600)
}
function check(name, cond, detail) {
  total++
  if (cond) { passed++; out(`ok - ${name}`) } else out(`not ok - ${name}: ${short(detail)}`)
  return !!cond
}
function finish() {
  out(`model-sdk: ${passed}/${total} checks passed`)
  process.exit(total > 0 && passed === total ? 0 : 1)
}
for (const k of ['log', 'info', 'warn', 'error', 'debug']) console[k] = () => {}
setTimeout(() => { check('finished in time', false, 'watchdog'); finish() }, TIMEOUT * 8).unref()

async function attempt(fn) {
  try { return { ok: true, value: await fn() } } catch (e) { return { ok: false, error: e } }
}

/* The refusal the SDK raises: a WxCloudSDKError with code and requestId
 * only on originError (the gateway's code and requestId), and the
 * gateway's message inside the SDK's formatted message. */
function refused(r, code, fragment) {
  if (r.ok || !r.error || !r.error.originError) return false
  const o = r.error.originError
  const message = String(r.error.message || '')
  return o.code === code && typeof o.requestId === 'string' && /^[0-9a-f]{32}$/.test(o.requestId) &&
    r.error.code === undefined && message.includes(code) && message.includes(o.requestId) &&
    (!fragment || message.includes(fragment))
}

function nested(depth) {
  let w = { title: { $eq: 'x' } }
  for (let i = 0; i < depth; i++) w = { $and: [w] }
  return w
}

async function asAlice(post) {
  let r = await attempt(() => post.create({ data: { title: 'hello', views: 1, published: true, tags: ['a'] } }))
  const id = r.ok && r.value.data && r.value.data.id
  check('create answers {data:{id}, requestId}', /^[0-9a-f]{32}$/.test(id || '') && typeof r.value.requestId === 'string',
    r.ok ? r.value : r.error)

  r = await attempt(() => post.createMany({ data: [{ title: 'b1', views: 10 }, { title: 'b2', views: 20 }, { title: '中文标题', views: 30 }] }))
  const ids = r.ok && r.value.data && r.value.data.idList
  check('createMany answers {idList} of 3', Array.isArray(ids) && ids.length === 3, r.ok ? r.value : r.error)

  r = await attempt(() => post.get({ filter: { where: { _id: { $eq: id } } } }))
  check('get returns the record (data.record)', r.ok && r.value.data && r.value.data.title === 'hello' &&
    r.value.data._id === id && r.value.data.owner === 'alice' && r.value.data.views === 1 &&
    r.value.data.published === true && Array.isArray(r.value.data.tags) && typeof r.value.data.createdAt === 'number',
  r.ok ? r.value : r.error)

  r = await attempt(() => post.list({
    filter: { where: { views: { $gte: 10 } } }, select: { title: true, views: true },
    orderBy: [{ views: 'desc' }], pageSize: 2, pageNumber: 1, getCount: true
  }))
  check('list with filter, select, orderBy, pageSize and getCount', r.ok && r.value.data.total === 3 &&
    r.value.data.records.length === 2 && r.value.data.records[0].title === '中文标题' &&
    r.value.data.records[1].views === 20 && r.value.data.records[0].owner === undefined,
  r.ok ? r.value : r.error)
  r = await attempt(() => post.list({ filter: { where: { views: { $gte: 10 } } }, orderBy: [{ views: 'desc' }], pageSize: 2, pageNumber: 2 }))
  check('list pageNumber 2', r.ok && r.value.data.records.length === 1 && r.value.data.records[0].title === 'b1' &&
    r.value.data.total === undefined, r.ok ? r.value : r.error)
  r = await attempt(() => post.list())
  check('list with the SDK defaults', r.ok && Array.isArray(r.value.data.records) && r.value.data.records.length === 4,
    r.ok ? r.value : r.error)
  r = await attempt(() => post.list({ filter: { where: { $or: [{ title: { $search: '标' } }, { views: { $in: [1, 20] } }] } }, getCount: true }))
  check('$or of $search and $in', r.ok && r.value.data.total === 3, r.ok ? r.value : r.error)

  r = await attempt(() => post.update({ filter: { where: { _id: { $eq: id } } }, data: { title: 'changed', views: 2 } }))
  check('update (PUT) answers {count:1}', r.ok && r.value.data.count === 1, r.ok ? r.value : r.error)
  r = await attempt(() => post.get({ filter: { where: { _id: { $eq: id } } } }))
  check('the update is read back', r.ok && r.value.data.title === 'changed' && r.value.data.views === 2, r.ok ? r.value : r.error)
  r = await attempt(() => post.updateMany({ filter: { where: { views: { $gte: 10 } } }, data: { published: false } }))
  check('updateMany (PUT) answers {count:3}', r.ok && r.value.data.count === 3, r.ok ? r.value : r.error)

  r = await attempt(() => post.upsert({ filter: { where: { title: { $eq: 'up' } } }, create: { title: 'up', views: 5 }, update: { views: 6 } }))
  const upId = r.ok && r.value.data && r.value.data.id
  check('upsert creates when nothing matches', /^[0-9a-f]{32}$/.test(upId || ''), r.ok ? r.value : r.error)
  r = await attempt(() => post.upsert({ filter: { where: { title: { $eq: 'up' } } }, create: { title: 'up', views: 5 }, update: { views: 6 } }))
  check('upsert updates the match', r.ok && r.value.data.count === 1 && r.value.data.id === upId, r.ok ? r.value : r.error)
  r = await attempt(() => post.delete({ filter: { where: { _id: { $eq: upId } } } }))
  check('delete answers {count:1}', r.ok && r.value.data.count === 1, r.ok ? r.value : r.error)
  r = await attempt(() => post.create({ data: { title: 'tmp1' } }))
  r = await attempt(() => post.create({ data: { title: 'tmp2' } }))
  r = await attempt(() => post.deleteMany({ filter: { where: { title: { $in: ['tmp1', 'tmp2'] } } } }))
  check('deleteMany answers {count:2}', r.ok && r.value.data.count === 2, r.ok ? r.value : r.error)

  r = await attempt(() => post.create({ data: { title: 'pre only' }, envType: 'pre' }))
  check('create with envType pre', r.ok && r.value.data.id, r.ok ? r.value : r.error)
  r = await attempt(() => post.list({ filter: { where: { title: { $eq: 'pre only' } } }, getCount: true }))
  check('prod does not see pre data', r.ok && r.value.data.total === 0, r.ok ? r.value : r.error)
  r = await attempt(() => post.list({ filter: { where: { title: { $eq: 'pre only' } } }, getCount: true, envType: 'pre' }))
  check('pre sees its own data', r.ok && r.value.data.total === 1, r.ok ? r.value : r.error)

  // errors, as the SDK raises them
  r = await attempt(() => post.list({ filter: { where: { nosuch: { $eq: 1 } } } }))
  check('unknown field: INVALID_PARAM naming it', refused(r, 'INVALID_PARAM', "'nosuch'"), r.ok ? r.value : r.error)
  r = await attempt(() => post.list({ filter: { where: { views: { $gt: 'ten' } } } }))
  check('wrong type: INVALID_PARAM naming the field', refused(r, 'INVALID_PARAM', "'views'"), r.ok ? r.value : r.error)
  r = await attempt(() => post.list({ filter: { where: { views: { $regex: '.*' } } } }))
  check('unknown operator: INVALID_PARAM', refused(r, 'INVALID_PARAM', '$regex'), r.ok ? r.value : r.error)
  r = await attempt(() => post.create({ data: { views: 1 } }))
  check('missing required field: INVALID_PARAM', refused(r, 'INVALID_PARAM', "'title' is required"), r.ok ? r.value : r.error)
  r = await attempt(() => post.create({ data: { title: 'x'.repeat(51) } }))
  check('string past maxLength: INVALID_PARAM', refused(r, 'INVALID_PARAM', 'maxLength'), r.ok ? r.value : r.error)
  r = await attempt(() => post.create({ data: { title: 'n', views: 1e400 } }))
  check('a number out of range (Infinity is sent as null): accepted as null or refused',
    (r.ok && r.value.data.id) || refused(r, 'INVALID_PARAM'), r.ok ? r.value : r.error)
  r = await attempt(() => post.list({ filter: { where: nested(1000) } }))
  check('a 1000-deep filter: INVALID_PARAM before any query', refused(r, 'INVALID_PARAM', 'deeper'), r.ok ? r.value : r.error)
  r = await attempt(() => post.list({ filter: { where: { views: { $in: Array.from({ length: 100000 }, (_, i) => i) } } } }))
  check('a 100k $in: INVALID_PARAM', refused(r, 'INVALID_PARAM', '100000'), r.ok ? r.value : r.error)

  // injection attempts in every string position
  const evil = "x' OR '1'='1'; DROP TABLE post; --"
  r = await attempt(() => post.list({ filter: { where: { [`title" = "title" OR "1`]: { $eq: 1 } } } }))
  check('injection as a field name: INVALID_PARAM', refused(r, 'INVALID_PARAM', 'unknown field'), r.ok ? r.value : r.error)
  r = await attempt(() => post.list({ orderBy: [{ 'views; DROP TABLE post': 'asc' }] }))
  check('injection in orderBy field: INVALID_PARAM', refused(r, 'INVALID_PARAM', 'orderBy'), r.ok ? r.value : r.error)
  r = await attempt(() => post.list({ orderBy: [{ views: 'asc; DROP TABLE post' }] }))
  check('injection in orderBy direction: INVALID_PARAM', refused(r, 'INVALID_PARAM', 'orderBy'), r.ok ? r.value : r.error)
  r = await attempt(() => post.list({ select: { 'title FROM x; --': true } }))
  check('injection in select: INVALID_PARAM', refused(r, 'INVALID_PARAM', 'select'), r.ok ? r.value : r.error)
  r = await attempt(() => post.list({ filter: { where: { title: { $search: evil } } }, getCount: true }))
  check('injection in $search stays data (no rows)', r.ok && r.value.data.total === 0, r.ok ? r.value : r.error)
  r = await attempt(() => post.list({ filter: { where: { title: { $eq: evil } } }, getCount: true }))
  check('injection in a value stays data (no rows)', r.ok && r.value.data.total === 0, r.ok ? r.value : r.error)
  r = await attempt(() => post.create({ data: { title: evil.slice(0, 50) } }))
  const evilId = r.ok && r.value.data.id
  r = await attempt(() => post.get({ filter: { where: { _id: { $eq: evilId } } } }))
  check('injection text stored and read back as written', r.ok && r.value.data.title === evil.slice(0, 50), r.ok ? r.value : r.error)
  // runSQLTemplate: an admin's template, the SDK's typed parameters
  r = await attempt(() => post.runSQLTemplate({ templateName: 'top_posts', params: { min: 10, skip: "x' OR '1'='1" } }))
  const rows = r.ok && r.value.data && r.value.data.executeResultList
  check('runSQLTemplate answers Response.Data (the SDK gives it as data)', Array.isArray(rows) &&
    rows.map((x) => x.title).join(',') === '中文标题,b2,b1' && typeof r.value.RequestId === 'string', r.ok ? r.value : r.error)
  r = await attempt(() => post.runSQLTemplate({ templateName: 'top_posts', params: { min: 10 } }))
  check('runSQLTemplate with a parameter missing: INVALID_PARAM', refused(r, 'INVALID_PARAM', "'skip'"), r.ok ? r.value : r.error)
  r = await attempt(() => post.runSQLTemplate({ templateName: 'nosuch', params: {} }))
  check('runSQLTemplate of an unknown template: RESOURCE_NOT_FOUND', refused(r, 'RESOURCE_NOT_FOUND'), r.ok ? r.value : r.error)

  r = await attempt(() => post.list({ getCount: true }))
  check('the table is intact', r.ok && r.value.data.total >= 5, r.ok ? r.value : r.error)
}

async function asBob(post) {
  let r = await attempt(() => post.create({ data: { title: 'bob post', views: 99 } }))
  check('bob creates his own record', r.ok && r.value.data.id, r.ok ? r.value : r.error)
  r = await attempt(() => post.updateMany({ filter: { where: {} }, data: { title: 'hacked' } }))
  check('bob\'s updateMany over every record changes only his (count 1)', r.ok && r.value.data.count === 1, r.ok ? r.value : r.error)
  r = await attempt(() => post.list({ filter: { where: { title: { $eq: 'hacked' } } }, getCount: true }))
  check('only bob\'s record reads hacked', r.ok && r.value.data.total === 1 && r.value.data.records[0].owner === 'bob',
    r.ok ? r.value : r.error)
  r = await attempt(() => post.deleteMany({ filter: { where: { views: { $gte: 0 } } } }))
  check('bob\'s deleteMany over every record deletes only his (count 1)', r.ok && r.value.data.count === 1, r.ok ? r.value : r.error)
  r = await attempt(() => post.update({ filter: { where: { title: { $eq: 'changed' } } }, data: { title: 'mine' } }))
  check('bob\'s update of alice\'s record: count 0', r.ok && r.value.data.count === 0, r.ok ? r.value : r.error)
  r = await attempt(() => post.delete({ filter: { where: { title: { $eq: 'changed' } } } }))
  check('bob\'s delete of alice\'s record: count 0', r.ok && r.value.data.count === 0, r.ok ? r.value : r.error)
}

async function asVerify(post) {
  const r = await attempt(() => post.list({ filter: { where: { owner: { $eq: 'alice' } } }, getCount: true, pageSize: 200 }))
  const titles = r.ok ? r.value.data.records.map((x) => x.title) : []
  check('alice\'s records are as she left them', r.ok && titles.includes('changed') && !titles.includes('hacked') &&
    !titles.includes('mine') && r.value.data.total === titles.length && titles.length >= 5, r.ok ? r.value : r.error)
}

async function asAnonymous(post) {
  let r = await attempt(() => post.create({ data: { title: 'anon' } }))
  check('an anonymous write is refused (PERMISSION_DENIED)', refused(r, 'PERMISSION_DENIED'), r.ok ? r.value : r.error)
  r = await attempt(() => post.list({ getCount: true }))
  check('an anonymous read is allowed', r.ok && r.value.data.total >= 5, r.ok ? r.value : r.error)
}

async function main() {
  for (const k of ['TENCENTCLOUD_SECRETID', 'TENCENTCLOUD_SECRETKEY', 'TENCENTCLOUD_SESSIONTOKEN',
    'CLOUDBASE_APIKEY', 'TCB_CONTEXT_KEYS', 'TCB_ENV', 'SCF_NAMESPACE']) delete process.env[k]
  const cloudbase = require('@cloudbase/js-sdk')
  const token = ROLE === 'anonymous' ? 'test-anonymous' : `test-user-${ROLE === 'verify' ? 'alice' : ROLE}`
  const app = cloudbase.init({ env: ENV, accessKey: token, timeout: TIMEOUT })
  app.registerHost(host, 'http')
  const post = app.models.post
  if (ROLE === 'alice') await asAlice(post)
  else if (ROLE === 'bob') await asBob(post)
  else if (ROLE === 'verify') await asVerify(post)
  else await asAnonymous(post)
}

main().catch((e) => check('no unexpected exception', false, e && e.stack)).finally(finish)
