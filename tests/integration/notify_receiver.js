// notify_receiver.js: a Discord-compatible webhook receiver and a generic
// signed-webhook receiver for the integration suite notify.
//
//   node notify_receiver.js PORT DIR HMAC_KEY
//
// POST /discord/ID checks the body has Discord's execute-webhook shape as
// the notifier sends it (username, exactly one embed with a title, colour
// 16711680 / 65280 / 3447003, 1-25 fields of non-empty name and value up to
// 1024 characters, a `<t:UNIX:F>` time, content absent or <= 2000 chars).
// POST /hook/ID checks X-CloudBase-Signature = "sha256=" + hex HMAC-SHA256
// (HMAC_KEY, X-CloudBase-Timestamp + "." + raw body) and a timestamp within
// 5 minutes. Each request takes the next answer from the file DIR/cue-ID
// (words: 204, 200, 404, 500, 429:SECONDS for a Discord-style 429 with
// retry_after in the body and Retry-After header, hold = never answer);
// without a cue it answers 204. Every request is appended to
// DIR/deliveries.log as one JSON line {path, answer, shape, at, body}, where
// shape is "ok" or what was wrong; a held request is logged when it arrives
// (answer "held") and again when its connection closes ("aborted").
'use strict';
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const [port, dir, hmacKey] = process.argv.slice(2);

function nextAnswer(id) {
  const file = path.join(dir, 'cue-' + id);
  let words;
  try {
    words = fs.readFileSync(file, 'utf8').split(/\s+/).filter(Boolean);
  } catch (e) {
    return '204';
  }
  if (!words.length) return '204';
  const first = words.shift();
  fs.writeFileSync(file, words.join(' '));
  return first;
}

function discordShape(text) {
  let body;
  try { body = JSON.parse(text); } catch (e) { return 'not JSON'; }
  if (typeof body.username !== 'string' || !body.username) return 'no username';
  if (body.content !== undefined && (typeof body.content !== 'string' || body.content.length > 2000))
    return 'bad content';
  if (!Array.isArray(body.embeds) || body.embeds.length !== 1) return 'not exactly one embed';
  const e = body.embeds[0];
  if (typeof e.title !== 'string' || !e.title || e.title.length > 256) return 'bad title';
  if (![16711680, 65280, 3447003].includes(e.color)) return 'bad colour ' + e.color;
  if (!Array.isArray(e.fields) || e.fields.length < 1 || e.fields.length > 25) return 'bad fields';
  for (const f of e.fields) {
    if (typeof f.name !== 'string' || !f.name || typeof f.value !== 'string' || !f.value ||
        f.value.length > 1024)
      return 'bad field ' + JSON.stringify(f);
  }
  if (!e.fields.some((f) => /<t:\d+:F>/.test(f.value))) return 'no <t:unix:F> time';
  return 'ok';
}

function hookShape(req, raw) {
  const ts = req.headers['x-cloudbase-timestamp'];
  const sig = req.headers['x-cloudbase-signature'];
  if (!ts || !sig) return 'unsigned';
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return 'stale timestamp';
  const want = 'sha256=' + crypto.createHmac('sha256', hmacKey).update(ts + '.').update(raw)
    .digest('hex');
  if (want.length !== sig.length || !crypto.timingSafeEqual(Buffer.from(want), Buffer.from(sig)))
    return 'bad signature';
  try { JSON.parse(raw.toString('utf8')); } catch (e) { return 'not JSON'; }
  return 'ok';
}

function record(entry) {
  fs.appendFileSync(path.join(dir, 'deliveries.log'), JSON.stringify(entry) + '\n');
}

http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    const m = /^\/(discord|hook)\/([A-Za-z0-9_-]+)$/.exec(req.url.split('?')[0]);
    if (req.method !== 'POST' || !m) {
      res.writeHead(400).end();
      return;
    }
    const shape = m[1] === 'discord' ? discordShape(raw.toString('utf8')) : hookShape(req, raw);
    const answer = nextAnswer(m[2]);
    const entry = { path: req.url, answer, shape, at: Date.now(), body: raw.toString('utf8') };
    if (answer === 'hold') {
      record(Object.assign({}, entry, { answer: 'held' }));
      res.on('close', () => record(Object.assign(entry, { answer: 'aborted' })));
      return;
    }
    record(entry);
    if (answer.startsWith('429:')) {
      const seconds = Number(answer.slice(4));
      res.writeHead(429, { 'Content-Type': 'application/json',
                           'Retry-After': String(Math.ceil(seconds)) });
      res.end(JSON.stringify({ message: 'You are being rate limited.', retry_after: seconds,
                               global: false }));
      return;
    }
    res.writeHead(Number(answer) || 500, { 'Content-Type': 'application/json' });
    res.end(answer === '404' ? '{"message":"Unknown Webhook","code":10015}' : '');
  });
}).listen(Number(port), '127.0.0.1', () => {
  fs.writeFileSync(path.join(dir, 'receiver.ready'), 'ready');
});
