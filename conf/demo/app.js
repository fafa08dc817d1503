// app.js: the demo front page's logic. Signs in with the official SDK
// (anonymously or as the demo user) and shows one panel per plugin. A later
// plugin adds its panel by appending an entry to `panels`: a title, a short
// description and a run(app) function that calls the gateway and returns
// {answer, requestId}. The storage panel (upload, list, delete) has its own
// file, storage-panel.js.
import cloudbase from '@cloudbase/js-sdk'
import { renderStoragePanel } from './storage-panel.js'

const app = cloudbase.init({ env: 'demo' })
// The gateway is this page's own origin: /auth/v1/..., /v1/functions/...,
// /v1/storages/...
app.registerHost(location.host, location.protocol.replace(':', ''))
const auth = app.auth()

const panels = [
  {
    id: 'add-two',
    title: 'Functions: add-two',
    description: 'Calls the cloud function add-two with {a: 1, b: 101} (app.callFunction).',
    button: 'Call add-two',
    async run() {
      const res = await app.callFunction({ name: 'add-two', data: { a: 1, b: 101 } })
      return { answer: res.result, requestId: res.requestId }
    },
  },
]

const $ = (id) => document.getElementById(id)
let signedIn = false

function describeError(err) {
  if (!err) return 'unknown error'
  return [err.code || err.error, err.message || err.error_description || err.msg]
    .filter(Boolean).join(': ') || String(err)
}

async function signIn(how, attempt) {
  const status = $('signin-status')
  status.className = 'status busy'
  status.textContent = `Signing in ${how}…`
  try {
    await attempt()
    const user = await auth.getCurrentUser()
    const who = user && user.username ? `as ${user.username}` : 'anonymously'
    const uid = user && (user.uid || user.sub)
    signedIn = true
    status.className = 'status ok'
    status.textContent = `Signed in ${who}${uid ? ` (uid ${uid})` : ''}.`
    document.body.classList.add('signed-in')
  } catch (err) {
    status.className = 'status error'
    status.textContent = `Sign-in failed: ${describeError(err)}`
  }
}

function renderPanel(panel) {
  const section = document.createElement('section')
  section.className = 'panel'
  section.id = `panel-${panel.id}`
  section.innerHTML = `
    <h2></h2>
    <p class="description"></p>
    <div class="row"><button class="run" disabled></button></div>
    <dl class="result">
      <dt>Answer</dt><dd class="answer">—</dd>
      <dt>Request id</dt><dd class="request-id">—</dd>
    </dl>`
  section.querySelector('h2').textContent = panel.title
  section.querySelector('.description').textContent = panel.description
  const button = section.querySelector('.run')
  button.textContent = panel.button
  button.addEventListener('click', async () => {
    const answer = section.querySelector('.answer')
    const requestId = section.querySelector('.request-id')
    button.disabled = true
    answer.className = 'answer busy'
    answer.textContent = 'calling…'
    requestId.textContent = '—'
    try {
      const out = await panel.run(app)
      answer.className = 'answer ok'
      answer.textContent = typeof out.answer === 'string' ? out.answer : JSON.stringify(out.answer)
      requestId.textContent = out.requestId || '(none)'
    } catch (err) {
      answer.className = 'answer error'
      answer.textContent = describeError(err)
      requestId.textContent = (err && err.requestId) || '—'
    } finally {
      button.disabled = !signedIn
    }
  })
  return section
}

for (const panel of panels) $('panels').append(renderPanel(panel))
$('panels').append(renderStoragePanel(app))

$('signin-anonymous').addEventListener('click', () =>
  signIn('anonymously', () => auth.signInAnonymously()))
$('signin-password').addEventListener('submit', (event) => {
  event.preventDefault()
  const form = new FormData(event.target)
  signIn(`as ${form.get('username')}`, () => auth.signInWithPassword({
    username: form.get('username'), password: form.get('password'),
  }))
})

// Panels work once someone is signed in.
new MutationObserver(() => {
  for (const b of document.querySelectorAll('#panels button.run')) b.disabled = !signedIn
}).observe(document.body, { attributes: true, attributeFilter: ['class'] })

document.body.dataset.ready = 'true'
