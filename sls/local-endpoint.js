'use strict';
// Points the serverless framework's own AWS calls at AWS_ENDPOINT_URL (e.g. a local moto_server).
//
// osls makes most of its AWS calls (CloudFormation, S3 uploads, STS) through the AWS SDK for
// JavaScript v2, which ignores AWS_ENDPOINT_URL; the v3 clients it uses for a few calls honour it.
// With this plugin `AWS_ENDPOINT_URL=http://127.0.0.1:PORT serverless deploy` sends every call
// to that endpoint, which is what the deploy rehearsal (scripts/deploy-rehearsal.sh) relies on.
// Without AWS_ENDPOINT_URL it does nothing.

class LocalEndpoint {
  constructor(serverless) {
    const endpoint = process.env.AWS_ENDPOINT_URL;
    if (!endpoint) return;
    let url;
    try {
      url = new URL(endpoint);
    } catch (error) {
      throw new serverless.classes.Error(
        `AWS_ENDPOINT_URL is not a URL (${error.message}); unset it to deploy to AWS itself`,
        'LOCAL_ENDPOINT_INVALID'
      );
    }
    // The same module instance osls uses (one aws-sdk in node_modules).
    const sdk = require('aws-sdk');
    // A local endpoint has no virtual-host buckets, so S3 needs path-style addressing.
    sdk.config.update({ endpoint: url.toString(), s3ForcePathStyle: true });
    process.env.AWS_S3_FORCE_PATH_STYLE = 'true';
  }
}

module.exports = LocalEndpoint;
