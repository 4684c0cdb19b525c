'use strict';
// `serverless invoke local` on the real Rust functions through sls/invoke-local.js: builds the
// binaries (cargo, dev profile), runs them under the one-shot Runtime API, checks what is printed
// and the exit code. AWS_ENDPOINT_URL points at a closed local port, so nothing can reach AWS;
// Kafka Connect is a closed port too (connect-health reports it unreachable, then fails because
// its metrics cannot be published).
// Run: node --test sls/test/   (the first run builds both binaries: minutes)

const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('net');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');

function closedPort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function invoke(args) {
  const port = await closedPort();
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
  Object.assign(env, {
    AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    SLS_AWS_REQUEST_MAX_RETRIES: '0',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    NODE_NO_WARNINGS: '1',
  });
  const out = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'serverless'), ['invoke', 'local', '--stage', 'test', ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 30 * 60 * 1000,
  });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr, closed: port };
}

// serverless prints the answer on stdout, followed by its own "Error: ..." when the invocation failed.
function answer(stdout) {
  const end = stdout.indexOf('\n}\n');
  assert.ok(end > 0, `no JSON answer on stdout: ${stdout}`);
  return JSON.parse(stdout.slice(0, end + 2));
}

const unreachable = 'CONNECT_CLUSTERS=[{"name":"main","url":"http://127.0.0.1:9"}]';

test('connectHealth runs natively, logs its report and fails when CloudWatch refuses its metrics; --env wins over serverless.yml', async () => {
  const r = await invoke(['-f', 'connectHealth', '--path', 'events/connect-health-scheduled.json', '--env', unreachable, '--env', 'METRICS_NAMESPACE=Rehearsal/Connect']);
  // CloudWatch (AWS_ENDPOINT_URL) is a closed port: the one PutMetricData batch fails, so does the invocation.
  assert.equal(r.code, 1, r.stderr);
  const error = answer(r.stdout);
  assert.match(error.errorMessage, /1 of 1 PutMetricData batches to namespace Rehearsal\/Connect failed/);
  assert.ok(r.stdout.startsWith('{\n    "'), 'printed like `serverless invoke` (4-space JSON)');
  // The report was logged first, on one line (the function's logs go to stderr).
  const logged = r.stderr.split('\n').find((line) => line.includes('connect-health report'));
  assert.ok(logged, r.stderr);
  assert.match(logged, /"reachable":false/);
  assert.match(logged, /"name":"main"/);
  assert.match(logged, /"namespace":"Rehearsal\/Connect"/);
});

test('costEtl answers an empty batch with no failures', async () => {
  const r = await invoke(['-f', 'costEtl', '--data', '{"Records":[]}', '--env', 'OUTPUT_BUCKET=costs', '--env', 'DLQ_URL=http://127.0.0.1:9/123456789012/dlq']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(answer(r.stdout), { batchItemFailures: [] });
});

test('a function error prints the error payload and exits non-zero', async () => {
  const r = await invoke(['-f', 'costEtl', '--data', '[1,2]', '--env', 'OUTPUT_BUCKET=costs', '--env', 'DLQ_URL=http://127.0.0.1:9/123456789012/dlq']);
  assert.equal(r.code, 1);
  assert.match(answer(r.stdout).errorType, /DeserializeError/);
  assert.match(r.stdout + r.stderr, /Invoked function failed/);
});

test('references that need the deployed stack are named, with the --env to pass', async () => {
  const r = await invoke(['-f', 'costEtl', '--data', '{"Records":[]}']);
  assert.equal(r.code, 1);
  assert.match(r.stdout + r.stderr, /cannot resolve OUTPUT_BUCKET .*DLQ_URL .*--env OUTPUT_BUCKET=\.\.\. --env DLQ_URL=\.\.\./s);
});
