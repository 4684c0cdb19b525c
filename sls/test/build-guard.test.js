'use strict';
// sls/build-guard.js: only release zips go to AWS; no stage but `local` is deployed without a
// Kafka Connect cluster; VPC params come in pairs of well-formed ids.
// Run: node --test sls/test/build-guard.test.js

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const BuildGuard = require('../build-guard');
const { namesNoCluster, vpcProblem } = BuildGuard;

class ServerlessError extends Error {}

function guardFor(buildJson) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-guard-'));
  if (buildJson !== undefined) {
    fs.mkdirSync(path.join(dir, 'target', 'lambda'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'target', 'lambda', 'build.json'), JSON.stringify(buildJson));
  }
  const guard = new BuildGuard({ serviceDir: dir, classes: { Error: ServerlessError } });
  return { guard, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

function withEndpoint(value, fn) {
  const saved = process.env.AWS_ENDPOINT_URL;
  if (value === undefined) delete process.env.AWS_ENDPOINT_URL;
  else process.env.AWS_ENDPOINT_URL = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = saved;
  }
}

test('a release build may be deployed; so may a build.json from before profiles were recorded', () => {
  for (const build of [{ architecture: 'arm64', profile: 'release' }, { architecture: 'arm64' }]) {
    const { guard, cleanup } = guardFor(build);
    withEndpoint(undefined, () => assert.doesNotThrow(() => guard.hooks['before:deploy:deploy']()));
    cleanup();
  }
});

test('a dev build is refused for AWS, with what to run', () => {
  const { guard, cleanup } = guardFor({ architecture: 'arm64', profile: 'dev' });
  withEndpoint(undefined, () => {
    assert.throws(() => guard.hooks['before:deploy:deploy'](), /'dev' build .*bash scripts\/build\.sh/);
    assert.throws(() => guard.hooks['before:deploy:function:initialize'](), ServerlessError);
  });
  cleanup();
});

test('a dev build may go to a local endpoint (the rehearsal against moto)', () => {
  const { guard, cleanup } = guardFor({ architecture: 'arm64', profile: 'dev' });
  withEndpoint('http://127.0.0.1:5000', () => assert.doesNotThrow(() => guard.hooks['before:deploy:deploy']()));
  cleanup();
});

test('no build info: refused, naming the file', () => {
  const { guard, cleanup } = guardFor(undefined);
  withEndpoint(undefined, () => assert.throws(() => guard.hooks['before:deploy:deploy'](), /build\.json.*scripts\/build\.sh/));
  cleanup();
});

// A guard over a resolved service: release zips, the given stage and connectHealth environment.
function serviceGuard({ stage = 'prod', env = {}, providerEnv, params = {}, cli = [] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-guard-'));
  fs.mkdirSync(path.join(dir, 'target', 'lambda'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'target', 'lambda', 'build.json'), JSON.stringify({ architecture: 'arm64', profile: 'release' }));
  const serverless = {
    serviceDir: dir,
    classes: { Error: ServerlessError },
    service: { provider: { stage, environment: providerEnv }, functions: { connectHealth: { environment: env }, costEtl: { environment: {} } } },
    configurationInput: { params },
    processedInput: { options: { param: cli } },
  };
  const guard = new BuildGuard(serverless, { stage });
  return { guard, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

test('a stage with no Connect cluster is refused, with a sentence saying what to set', () => {
  for (const clusters of ['[]', '', ' [ ] ', undefined]) {
    const { guard, cleanup } = serviceGuard({ stage: 'prod', env: clusters === undefined ? {} : { CONNECT_CLUSTERS: clusters } });
    withEndpoint(undefined, () => {
      assert.throws(() => guard.hooks['before:deploy:deploy'](), (error) => {
        assert.ok(error instanceof ServerlessError);
        assert.match(error.message, /stage 'prod' has no Kafka Connect cluster configured/);
        assert.match(error.message, /Create config\/prod\/connect-clusters\.json \(see config\/dev\/connect-clusters\.example\.json\)/);
        assert.match(error.message, /\$\{ssm:\/pipeline\/prod\/connect-clusters\}/);
        return true;
      });
      assert.throws(() => guard.hooks['before:deploy:function:initialize'](), /no Kafka Connect cluster/);
    });
    cleanup();
  }
});

test('the Connect check also holds against a local endpoint (the rehearsal follows the README), but not for stage local', () => {
  const { guard, cleanup } = serviceGuard({ stage: 'test', env: { CONNECT_CLUSTERS: '[]' } });
  withEndpoint('http://127.0.0.1:5000', () => assert.throws(() => guard.hooks['before:deploy:deploy'](), /stage 'test' has no Kafka Connect cluster/));
  cleanup();
  const local = serviceGuard({ stage: 'local', env: { CONNECT_CLUSTERS: '[]' } });
  withEndpoint('http://127.0.0.1:5000', () => assert.doesNotThrow(() => local.guard.hooks['before:deploy:deploy']()));
  local.cleanup();
});

test('a cluster list, CONNECT_URL (function or provider environment) or a deploy-time reference counts as configured', () => {
  for (const setup of [
    { env: { CONNECT_CLUSTERS: '[{"name":"main","url":"https://connect:8083"}]' } },
    { env: { CONNECT_CLUSTERS: '[]', CONNECT_URL: 'http://connect:8083' } },
    { env: { CONNECT_CLUSTERS: '[]' }, providerEnv: { CONNECT_URL: 'http://connect:8083' } },
    { env: { CONNECT_CLUSTERS: { 'Fn::ImportValue': 'clusters' } } },
  ]) {
    const { guard, cleanup } = serviceGuard(setup);
    withEndpoint(undefined, () => assert.doesNotThrow(() => guard.hooks['before:deploy:deploy'](), JSON.stringify(setup)));
    cleanup();
  }
  assert.equal(namesNoCluster('[]'), true);
  assert.equal(namesNoCluster('not json'), false, 'a malformed value is connect-health\'s to report, not "nothing configured"');
});

test('VPC params: both or neither, comma-separated ids without spaces; refused when packaging', () => {
  assert.equal(vpcProblem('connectHealth', '', ''), null);
  assert.equal(vpcProblem('connectHealth', 'subnet-0a1b2c3d,subnet-0a1b2c3d4e5f60718', 'sg-0a1b2c3d'), null);
  assert.match(vpcProblem('connectHealth', 'subnet-0a1b2c3d', ''), /connectHealthSubnetIds is set but connectHealthSecurityGroupIds is not/);
  assert.match(vpcProblem('costEtl', '', 'sg-0a1b2c3d'), /costEtlSecurityGroupIds is set but costEtlSubnetIds is not/);
  assert.match(vpcProblem('costEtl', 'subnet-0a1b2c3d, subnet-0a1b2c3e', 'sg-0a1b2c3d'), /costEtlSubnetIds: " subnet-0a1b2c3e"/);

  const { guard, cleanup } = serviceGuard({
    stage: 'prod',
    params: { default: { connectHealthSubnetIds: '', connectHealthSecurityGroupIds: '' }, prod: { connectHealthSubnetIds: 'subnet-0a1b2c3d' } },
  });
  assert.throws(() => guard.hooks['before:package:initialize'](), /VPC params of stage 'prod': connectHealth: connectHealthSubnetIds is set but connectHealthSecurityGroupIds is not/);
  cleanup();
  // --param wins over the params: blocks, as in serverless.
  const fixed = serviceGuard({
    stage: 'prod',
    params: { prod: { connectHealthSubnetIds: 'subnet-0a1b2c3d' } },
    cli: ['connectHealthSecurityGroupIds=sg-0a1b2c3d'],
  });
  assert.doesNotThrow(() => fixed.guard.hooks['before:package:initialize']());
  fixed.cleanup();
});
