// cos-auth-oracle.js: the reference for mod_cloudbase's COS signer
// (tests/unit/test_sign_oracle.c). Reads one JSON object per line on stdin
// ({SecretId, SecretKey, Method, Key, Query, Headers, KeyTime}) and prints,
// one line each, what cos-nodejs-sdk-v5's getAuthorization returns for it.
// Nothing is sent anywhere.
'use strict';
const readline = require('readline');
const COS = require('cos-nodejs-sdk-v5');

(async () => {
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    process.stdout.write(COS.getAuthorization(JSON.parse(line)) + '\n');
  }
})().catch((e) => { console.error(e && e.message); process.exit(1); });
