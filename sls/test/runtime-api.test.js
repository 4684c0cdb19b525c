'use strict';
// The one-shot Runtime API (sls/runtime-api.js) against a small custom runtime written in Node:
// a real process speaking the real protocol over HTTP, as the Rust binaries do.
// Run: node --test sls/test/

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { invokeOnce } = require('../runtime-api');

// A custom runtime: takes the next event, then behaves as MODE says.
const RUNTIME = `#!${process.execPath}
const http = require('http');
const api = process.env.AWS_LAMBDA_RUNTIME_API;
const mode = process.env.MODE;
function call(method, p, body) {
  return new Promise((resolve, reject) => {
    const req = http.request('http://' + api + '/2018-06-01/runtime' + p, { method }, (res) => {
      let data = ''; res.on('data', (c) => (data += c)); res.on('end', () => resolve({ res, data }));
    });
    req.on('error', reject); if (body) req.write(body); req.end();
  });
}
(async () => {
  if (mode === 'init-error') { await call('POST', '/init/error', JSON.stringify({ errorType: 'Config', errorMessage: 'OUTPUT_BUCKET is not set' })); process.exit(1); }
  const { res, data } = await call('GET', '/invocation/next');
  const id = res.headers['lambda-runtime-aws-request-id'];
  const event = JSON.parse(data);
  if (mode === 'exit') process.exit(3);
  if (mode === 'hang') return setInterval(() => {}, 1000);
  if (mode === 'error') return call('POST', '/invocation/' + id + '/error', JSON.stringify({ errorType: 'Boom', errorMessage: 'bad ' + event.n }));
  const deadlineIn = Number(res.headers['lambda-runtime-deadline-ms']) - Date.now();
  await call('POST', '/invocation/' + id + '/response', JSON.stringify({ doubled: event.n * 2, env: process.env.GREETING, arn: res.headers['lambda-runtime-invoked-function-arn'], deadlineOk: deadlineIn > 0 && deadlineIn <= 5000 }));
  await call('GET', '/invocation/next'); // like a real runtime: ask for more, get held
})();
`;

function runtime() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runtime-api-test-'));
  const file = path.join(dir, 'bootstrap');
  fs.writeFileSync(file, RUNTIME, { mode: 0o755 });
  return file;
}

const exe = runtime();
test.after(() => fs.rmSync(path.dirname(exe), { recursive: true, force: true }));
const run = (mode, extra = {}) =>
  invokeOnce({
    executable: exe,
    env: { ...process.env, MODE: mode, GREETING: 'hello' },
    event: JSON.stringify({ n: 21 }),
    timeoutSeconds: 5,
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
    stdio: 'ignore',
    ...extra,
  });

test('a response is returned with the event, env and headers the runtime saw', async () => {
  const out = await run('ok');
  assert.equal(out.ok, true);
  assert.deepEqual(JSON.parse(out.body), { doubled: 42, env: 'hello', arn: 'arn:aws:lambda:us-east-1:000000000000:function:f', deadlineOk: true });
});

test('a function error is reported with its payload', async () => {
  const out = await run('error');
  assert.equal(out.ok, false);
  assert.deepEqual(JSON.parse(out.body), { errorType: 'Boom', errorMessage: 'bad 21' });
});

test('an init error is reported', async () => {
  const out = await run('init-error');
  assert.equal(out.ok, false);
  assert.match(out.reason, /initialise/);
  assert.match(out.body, /OUTPUT_BUCKET is not set/);
});

test('a binary that exits without answering is an error naming its exit status', async () => {
  const out = await run('exit');
  assert.equal(out.ok, false);
  assert.match(JSON.parse(out.body).errorMessage, /exit status 3/);
});

test('the timeout is enforced and the binary stopped', async () => {
  const out = await run('hang', { timeoutSeconds: 0.5 });
  assert.equal(out.ok, false);
  assert.match(JSON.parse(out.body).errorMessage, /Task timed out after 0.50 seconds/);
});
