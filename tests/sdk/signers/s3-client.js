// s3-client.js: the S3Client the oracle scripts share, configured from one
// test input line ({region, endpoint, virtualHosted, accessKey, secretKey,
// sessionToken?}); extra holds further client options.
'use strict';
const { S3Client } = require('@aws-sdk/client-s3');

module.exports = function s3Client(t, extra) {
  return new S3Client({
    region: t.region,
    endpoint: t.endpoint,
    forcePathStyle: !t.virtualHosted,
    credentials: { accessKeyId: t.accessKey, secretAccessKey: t.secretKey, sessionToken: t.sessionToken },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...extra,
  });
};
