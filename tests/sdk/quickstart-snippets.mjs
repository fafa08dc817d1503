/*
 * quickstart-snippets.mjs: seed 000's "HTTP API Quick Start" snippets 1
 * (both sign-ins), 2 (function add-two), 3 (Cloud Run helloworld), 4 (cloud
 * storage: upload info, then the PUT, into the demo's local bucket), 5 (the
 * data model post, with the demo's sample rows from
 * scripts/demo-seed-models.sh), 6 (AI provider deepseek, plain and
 * streaming) and 7 (agent, plain and streaming), copied as written
 * (reference/seeds/000_*.txt) with only the
 * host changed: `https://${env}.api.tcloudbasegateway.com` became `${gateway}`,
 * and the placeholders got the demo's values (user demo / demo-password,
 * agent id demo-agent). Each snippet's console.log output is captured and
 * checked. Prints "ok ..." / "not ok ..." lines; exits 1 on any failure.
 *
 * Usage: node quickstart-snippets.mjs http://127.0.0.1:PORT
 */
const gateway = process.argv[2]
const logged = []
const realLog = console.log
console.log = (...args) => { logged.push(args.map(String).join(' ')) }
let failures = 0
function check(name, ok, detail) {
  realLog(`${ok ? 'ok' : 'not ok'} - ${name}${ok ? '' : `: ${String(detail).slice(0, 400)}`}`)
  if (!ok) failures++
}
const lastLog = () => logged[logged.length - 1] || ''

// ---- 1. Authentication: anonymous login ------------------------------------
{
const env = "demo";
const deviceId = Math.random().toString(36).substring(2, 15); // Randomly generated and should be cached on the client side

const { token_type, access_token } = await (
await fetch(
`${gateway}/auth/v1/signin/anonymously`,
{
method: "POST",
headers: {
"x-device-id": deviceId,
},
},
)
).json();

console.log(token_type, access_token);
check('1. anonymous login logs "Bearer <token>"', /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/.test(lastLog()), lastLog())
}

// ---- 1. Authentication: username/password login ---------------------------
const env = "demo";
const deviceId = Math.random().toString(36).substring(2, 15); // Randomly generated and should be cached on the client side

const { token_type, access_token } = await (
await fetch(`${gateway}/auth/v1/signin`, {
method: "POST",
headers: {
"x-device-id": deviceId,
},
body: JSON.stringify({
password: "demo-password",
username: "demo",
}),
})
).json();

console.log(token_type, access_token);
check('1. username/password login logs "Bearer <token>"', /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/.test(lastLog()), lastLog())

// ---- 2. Invoking Cloud Functions --------------------------------------------
{
const functonName = "add-two";
const functionParams = {
a: 1,
b: 101,
};

const functionResult = await (
await fetch(
`${gateway}/v1/functions/${functonName}`,
{
method: "POST",
body: JSON.stringify(functionParams),
headers: {
"Content-Type": "application/json",
Accept: "application/json",
Authorization: `${token_type} ${access_token}`,
},
},
)
).text();

console.log(functionResult);
check('2. add-two answers 102', lastLog().trim() === '102', lastLog())
}

// ---- 3. Invoking Cloud Run ---------------------------------------------------
{
const cloudRunName = "helloworld";

const cloudRunResult = await (
await fetch(
`${gateway}/v1/cloudrun/${cloudRunName}`,
{
headers: { Authorization: `${token_type} ${access_token}` },
},
)
).text();

console.log(cloudRunResult);
check('3. helloworld answers "Hello World ..."', /^Hello World\b/.test(lastLog()), lastLog())
}

// ---- 4. Using Cloud Storage ----------------------------------------------------
// (The URL's line break inside the template literal is the seed's own; fetch
// strips it, as the WHATWG URL parser removes tabs and newlines.)
{
const objectId = "test.txt";

// Call the HTTP API to get upload information
const [uploadInfo] = await (
await fetch(
`${gateway}/v1/storages/get-objects-upload-info
`,
{
headers: {
Authorization: `${token_type} ${access_token}`,
},
body: JSON.stringify([{ objectId }]),
method: "POST",
},
)
).json();

// Use the upload information to perform the upload
const uploadResult = await fetch(uploadInfo.uploadUrl, {
method: "PUT",
headers: {
Authorization: uploadInfo.authorization,
"X-Cos-Meta-Fileid": uploadInfo.cloudObjectMeta,
"X-Cos-Security-Token": uploadInfo.token,
},
body: "Hello, World!",
});

console.log(uploadResult.status, uploadResult.statusText);
check('4. the storage upload logs "200 OK"', lastLog() === '200 OK', lastLog())
// Not in the snippet: the object is there, whole, at the download URL.
const stored = await fetch(uploadInfo.downloadUrl)
const storedText = await stored.text()
check('4. the uploaded test.txt downloads as "Hello, World!"',
  stored.status === 200 && storedText === 'Hello, World!' &&
  uploadInfo.cloudObjectId === `cloud://${env}.files/test.txt`,
  `${stored.status} ${storedText} ${uploadInfo.cloudObjectId}`)
}

// ---- 5. Query Data Model ----------------------------------------------------
{
const dataModelName = "post";
const listParams = {
select: { $master: true },
getCount: true,
pageSize: 3,
};

const result = await (
await fetch(
`${gateway}/v1/model/prod/${dataModelName}/list`,
{
headers: {
Authorization: `${token_type} ${access_token}`,
"Content-Type": "application/json",
},
method: "POST",
body: JSON.stringify(listParams),
},
)
).json();

console.log(JSON.stringify(result, null, 2));
let logged5 = {}
try { logged5 = JSON.parse(lastLog()) } catch (e) {}
check('5. the data model post lists its 3 sample records', logged5.data && logged5.data.total === 3 &&
  logged5.data.records.length === 3 && logged5.data.records.every((r) => r._id && r.title) &&
  typeof logged5.requestId === 'string', lastLog())
}

// ---- 6. Using AI Large Models -----------------------------------------------
{
const provider = "deepseek"; // large model provider
const model = "deepseek-v3"; // model name
const llmMessages = [{ role: "user", content: "hi" }];

// Non-streaming text generation
const llmGenerateResult = await (
await fetch(
`${gateway}/v1/ai/${provider}/chat/completion`,
{
headers: {
Authorization: `${token_type} ${access_token}`,
"Content-Type": "application/json",
},
method: "POST",
body: JSON.stringify({
model,
messages: llmMessages,
stream: false, // Non-streaming, stream is false
}),
},
)
).json();

console.log(JSON.stringify(llmGenerateResult, null, 2));
check('6. deepseek answers a chat.completion for deepseek-v3',
  llmGenerateResult.object === 'chat.completion' && llmGenerateResult.model === 'deepseek-v3' &&
  /You said: hi$/.test(llmGenerateResult.choices[0].message.content), lastLog())

// Streaming text generation
const llmStreamResult = await (
await fetch(
`${gateway}/v1/ai/${provider}/chat/completion`,
{
headers: {
Authorization: `${token_type} ${access_token}`,
"Content-Type": "application/json",
Accept: "text/event-stream",
},
method: "POST",
body: JSON.stringify({
model,
messages: llmMessages,
stream: true, // Streaming, stream is true
}),
},
)
).text();

console.log(llmStreamResult);
check('6. deepseek streams chat.completion.chunk events ending with data: [DONE]',
  /^data: \{.*"chat\.completion\.chunk"/.test(lastLog()) && /data: \[DONE\]\s*$/.test(lastLog()), lastLog())
}

// ---- 7. Using Agents ---------------------------------------------------------
{
const agentId = "demo-agent"; // Fill in the Agent ID created on the Cloud Base platform
const agentMessages = [{ role: "user", content: "hi" }];

// Non-streaming text generation
const agentGenerateResult = await (
await fetch(
`${gateway}/v1/aibot/openai/chat/completions`,
{
headers: {
Authorization: `${token_type} ${access_token}`,
"Content-Type": "application/json",
},
method: "POST",
body: JSON.stringify({
model: agentId,
messages: agentMessages,
stream: false, // Non-streaming, stream is false
}),
},
)
).json();

console.log(JSON.stringify(agentGenerateResult, null, 2));
check('7. the agent demo-agent answers a chat.completion',
  agentGenerateResult.object === 'chat.completion' && agentGenerateResult.model === 'demo-agent' &&
  /You said: hi$/.test(agentGenerateResult.choices[0].message.content), lastLog())

// Streaming text generation
const agentStreamResult = await (
await fetch(
`${gateway}/v1/aibot/openai/chat/completions`,
{
headers: {
Authorization: `${token_type} ${access_token}`,
"Content-Type": "application/json",
Accept: "text/event-stream",
},
method: "POST",
body: JSON.stringify({
model: agentId,
messages: agentMessages,
stream: true, // Streaming, stream is true
}),
},
)
).text();

console.log(agentStreamResult);
check('7. the agent streams chunks ending with data: [DONE]',
  /^data: \{.*"chat\.completion\.chunk"/.test(lastLog()) && /data: \[DONE\]\s*$/.test(lastLog()), lastLog())
}

realLog(`${failures} failed`)
process.exit(failures ? 1 : 0)
