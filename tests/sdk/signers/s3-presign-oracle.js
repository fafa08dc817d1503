// s3-presign-oracle.js: the reference for mod_cloudbase's SigV4 presigner
// (tests/unit/test_sign_oracle.c). Reads one JSON object per line on stdin
// ({endpoint, region, bucket, key, method: "GET"|"PUT", virtualHosted,
// accessKey, secretKey, sessionToken?, when (epoch seconds), expires,
// responseContentDisposition?}) and prints, one line each, the
// URL @aws-sdk/s3-request-presigner makes for it. Nothing is sent anywhere.
'use strict';
const readline = require('readline');
const { GetObjectCommand, PutObjectCommand } = require('@aws-sdk/client-s3');
const s3Client = require('./s3-client');
const { getSignedUrl } = require('@aws-sdk/s3-request-presigner');

async function presign(t) {
  const client = s3Client(t);
  const input = { Bucket: t.bucket, Key: t.key };
  let command;
  if (t.method === 'PUT') {
    command = new PutObjectCommand(input);
  } else {
    if (t.responseContentDisposition) input.ResponseContentDisposition = t.responseContentDisposition;
    command = new GetObjectCommand(input);
  }
  return getSignedUrl(client, command, { expiresIn: t.expires, signingDate: new Date(t.when * 1000) });
}

(async () => {
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    process.stdout.write((await presign(JSON.parse(line))) + '\n');
  }
})().catch((e) => { console.error(e && e.message); process.exit(1); });
