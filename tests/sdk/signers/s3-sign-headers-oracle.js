// s3-sign-headers-oracle.js: the reference for mod_cloudbase's SigV4 header
// signer (tests/unit/test_sign_oracle.c). Reads one JSON object per line on
// stdin ({endpoint, region, bucket, key, op: "DeleteObject"|"CopyObject"|
// "PutObject", copySource?, body?, virtualHosted, accessKey, secretKey,
// sessionToken?, when (epoch seconds)}) and prints, one JSON line each, the
// request @aws-sdk/client-s3 signs for it: {method, hostname, port, path,
// query, headers}. The request handler only records it: nothing is sent.
'use strict';
const readline = require('readline');
const { DeleteObjectCommand, CopyObjectCommand, PutObjectCommand } = require('@aws-sdk/client-s3');
const s3Client = require('./s3-client');

async function sign(t) {
  let captured;
  const client = s3Client(t, {
    maxAttempts: 1,
    requestHandler: {
      handle: async (request) => {
        captured = request;
        throw new Error('captured');
      },
    },
  });
  const input = { Bucket: t.bucket, Key: t.key };
  let command;
  if (t.op === 'CopyObject') command = new CopyObjectCommand({ ...input, CopySource: t.copySource });
  else if (t.op === 'PutObject') command = new PutObjectCommand({ ...input, Body: t.body, ContentType: 'text/plain' });
  else command = new DeleteObjectCommand(input);
  const realNow = Date.now;
  Date.now = () => t.when * 1000;
  try {
    await client.send(command);
  } catch (e) {
    if (!captured) throw e;
  } finally {
    Date.now = realNow;
  }
  return {
    method: captured.method,
    hostname: captured.hostname,
    port: captured.port,
    path: captured.path,
    query: captured.query,
    headers: captured.headers,
  };
}

(async () => {
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    process.stdout.write(JSON.stringify(await sign(JSON.parse(line))) + '\n');
  }
})().catch((e) => { console.error(e && e.message); process.exit(1); });
