#!/usr/bin/env node
'use strict';
// Cold-start-ish init time of a Lambda binary: from spawn to its first
// `GET /2018-06-01/runtime/invocation/next`, i.e. how long `main` takes before it can take work
// (telemetry, config, AWS SDK set-up, clients). Runs each binary N times, alternating, and prints
// the median and p90. Used to choose the release profile's opt-level (docs/deploying.md).
//
//   node scripts/bench-cold-start.js [-n 30] NAME=path/to/binary ...
//
// The binaries run on this machine, so they must be built for it (LAMBDA_ARCH=x86_64 on x86_64).
// Each gets the configuration it needs to start (dummy values; nothing is called).

const http = require('http');
const { spawn } = require('child_process');

const CONFIG = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
  AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
  AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/bench',
  AWS_LAMBDA_LOG_STREAM_NAME: 'bench',
  CONNECT_CLUSTERS: '[{"name":"main","url":"http://127.0.0.1:9"}]',
  RESTART_STATE_TABLE: 'bench-restarts',
  OUTPUT_BUCKET: 'bench-bucket',
  IDEMPOTENCY_TABLE: 'bench-idempotency',
  DLQ_URL: 'http://127.0.0.1:9/000000000000/bench-dlq',
  SECRETS_PREFIX: 'bench',
};

function once(executable) {
  return new Promise((resolve, reject) => {
    let started;
    let child;
    const server = http.createServer((req) => {
      if (req.url.endsWith('/invocation/next')) {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        child.kill('SIGKILL');
        server.close();
        server.closeAllConnections();
        resolve(ms);
      }
    });
    server.listen(0, '127.0.0.1', () => {
      started = process.hrtime.bigint();
      child = spawn(executable, [], {
        env: { PATH: process.env.PATH, ...CONFIG, AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${server.address().port}` },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c) => (stderr += c));
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') {
          server.close();
          reject(new Error(`${executable} exited (${code}) before asking for work: ${stderr.slice(-500)}`));
        }
      });
    });
  });
}

const quantile = (xs, q) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

(async () => {
  const args = process.argv.slice(2);
  let n = 30;
  const bins = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-n') n = Number(args[++i]);
    else {
      const at = args[i].indexOf('=');
      bins.push(at > 0 ? [args[i].slice(0, at), args[i].slice(at + 1)] : [args[i], args[i]]);
    }
  }
  if (!bins.length) {
    console.error('usage: node scripts/bench-cold-start.js [-n 30] NAME=binary ...');
    process.exit(1);
  }
  const times = Object.fromEntries(bins.map(([name]) => [name, []]));
  for (const [, exe] of bins) await once(exe); // warm the page cache
  for (let i = 0; i < n; i++) {
    for (const [name, exe] of bins) times[name].push(await once(exe));
  }
  for (const [name] of bins) {
    const t = times[name];
    console.log(`${name.padEnd(28)} median ${quantile(t, 0.5).toFixed(2)} ms   p90 ${quantile(t, 0.9).toFixed(2)} ms   (n=${n})`);
  }
})().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
