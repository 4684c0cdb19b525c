'use strict';
// sls/build-guard.js: only release zips go to AWS. Run: node --test sls/test/

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const BuildGuard = require('../build-guard');

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
