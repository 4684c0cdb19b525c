'use strict';
// The stage configuration read while serverless resolves serverless.yml: the region
// (sls/region.js: never a silent default for a deployed stage) and the Kafka Connect clusters
// (sls/connect-clusters.js: config/<stage>/connect-clusters.json, checked).
// Run: node --test sls/test/stage-config.test.js

const test = require('node:test');
const assert = require('node:assert/strict');
const { chooseRegion } = require('../region');
const { clustersValue } = require('../connect-clusters');
const { fromCli } = require('../params');

test('region: --region, else the stage param; a deployed stage without either is an error saying what to set', () => {
  assert.equal(chooseRegion({ option: 'eu-west-1', stageParam: 'us-west-2', stage: 'prod' }), 'eu-west-1');
  assert.equal(chooseRegion({ stageParam: 'us-west-2', stage: 'prod' }), 'us-west-2');
  const error = chooseRegion({ stage: 'prod', env: { AWS_REGION: 'eu-central-1' } });
  assert.ok(error instanceof Error, 'AWS_REGION alone does not pick the region of a deploy');
  assert.match(error.message, /no AWS region for stage 'prod': pass --region <region> .* or set params\.prod\.region in serverless\.yml/);
});

test('region: stage local and a local emulator (AWS_ENDPOINT_URL) have a default, their AWS_REGION first', () => {
  assert.equal(chooseRegion({ stage: 'local', env: {} }), 'us-east-1');
  assert.equal(chooseRegion({ stage: 'test', env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' } }), 'us-east-1');
  assert.equal(chooseRegion({ stage: 'test', env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000', AWS_REGION: 'eu-west-1' } }), 'eu-west-1');
});

test('--param values: the last one wins, values may hold "="', () => {
  assert.equal(fromCli(['region=eu-west-1', 'x=1', 'region=us-west-2'], 'region'), 'us-west-2');
  assert.equal(fromCli(['connectClusters=[{"a":"b=c"}]'], 'connectClusters'), '[{"a":"b=c"}]');
  assert.equal(fromCli(undefined, 'region'), undefined);
});

const file = 'config/prod/connect-clusters.json';
const secretsPrefix = 'pipeline/prod/connect';

test('clusters: no file is "[]"; a valid file becomes one line of JSON for CONNECT_CLUSTERS', () => {
  assert.equal(clustersValue(null, { file, secretsPrefix }), '[]');
  const text = `[
    {"name": "main", "url": "https://connect.internal:8083", "auth_secret_id": "pipeline/prod/connect/main"},
    {"name": "analytics", "url": "http://analytics:8083"}
  ]`;
  assert.equal(clustersValue(text, { file, secretsPrefix }),
    '[{"name":"main","url":"https://connect.internal:8083","auth_secret_id":"pipeline/prod/connect/main"},{"name":"analytics","url":"http://analytics:8083"}]');
});

test('clusters: a mistake fails the deploy naming the file, the entry and the fix', () => {
  const bad = (text) => {
    const value = clustersValue(text, { file, secretsPrefix });
    assert.ok(value instanceof Error, text);
    return value.message;
  };
  assert.match(bad('{'), /config\/prod\/connect-clusters\.json is not JSON/);
  assert.match(bad('{"name": "main"}'), /must hold a JSON array of clusters/);
  assert.match(bad('[{"url": "https://c:8083"}]'), /entry 1: "name" must be a non-empty string/);
  assert.match(bad('[{"name": "main", "url": "connect:8083"}]'), /entry 1 \(main\): "url" must be (an http\(s\) URL|http or https)/);
  assert.match(bad('[{"name": "main", "url": "https://user:pw@c:8083"}]'), /carries credentials; put them in a secret named by "auth_secret_id"/);
  assert.match(bad('[{"name": "main", "url": "https://c:8083", "auth_secret_id": "pipeline/dev/connect/main"}]'),
    /auth_secret_id "pipeline\/dev\/connect\/main" is not under pipeline\/prod\/connect\/ or ssm:\/pipeline\/prod\/connect\/ \(param connectSecretsPrefix\)/);
  // The same credentials as an SSM parameter under the prefix are accepted; elsewhere they are not.
  const ok = clustersValue('[{"name": "main", "url": "https://c:8083", "auth_secret_id": "ssm:/pipeline/prod/connect/main"}]', { file, secretsPrefix });
  assert.ok(!(ok instanceof Error), String(ok));
  assert.match(bad('[{"name": "main", "url": "https://c:8083", "auth_secret_id": "ssm:/pipeline/dev/connect/main"}]'), /is not under pipeline\/prod\/connect\//);
});
