#!/usr/bin/env node
'use strict';
// Cold start of a Lambda binary, two figures per run:
//   init:  from spawn to its first `GET /2018-06-01/runtime/invocation/next`, i.e. how long `main`
//          takes before it can take work (telemetry, config, AWS SDK set-up, clients);
//   first: from spawn to the answer of its first invocation, so work deferred from init to the
//          first run (a lazily built client) is counted, not hidden. Trusted roots: the AWS
//          SDK's connector reads them when it is first built, even for plain HTTP, so
//          connect-health's first run (a DynamoDB Scan, a PutMetricData) includes that read;
//          cost-etl's empty batch calls nothing, and reqwest's roots are read only on a TLS
//          handshake, which no peer here offers: neither is in these figures.
// Runs each binary N times, alternating, and prints the median and p90 of both.
//
//   node scripts/bench-cold-start.js [-n 30] NAME=path/to/binary ...
//
// The binaries run on this machine, so they must be built for it (LAMBDA_ARCH=x86_64 on x86_64;
// scripts/bench.sh builds them). The event depends on NAME: `connect-health*` gets a scheduled
// event and one cluster with no connectors, `cost-etl*` an SQS batch with no records, anything
// else `{}`. Everything the function calls is this script's own server on 127.0.0.1: the Runtime
// API, the Kafka Connect REST API (`/connect/...`) and AWS (`AWS_ENDPOINT_URL`: a DynamoDB Scan
// finds no restart history, PutMetricData is accepted). Nothing leaves the machine.

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
  RESTART_STATE_TABLE: 'bench-restarts',
  OUTPUT_BUCKET: 'bench-bucket',
  IDEMPOTENCY_TABLE: 'bench-idempotency',
  DLQ_URL: 'http://127.0.0.1:9/000000000000/bench-dlq',
  SECRETS_PREFIX: 'bench',
};

const EVENTS = [
  [/^connect-health/, { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} }],
  [/^cost-etl/, { Records: [] }],
];

function eventFor(name) {
  const found = EVENTS.find(([pattern]) => pattern.test(name));
  return JSON.stringify(found ? found[1] : {});
}

// The answers of everything a function may call, by path (and, for AWS, by protocol).
function answer(req, body, res) {
  if (req.url.startsWith('/connect/connectors')) return json(res, {});
  if (req.url.startsWith('/connect')) return json(res, { version: '3.7.0', commit: 'bench', kafka_cluster_id: 'bench' });
  if (req.headers['x-amz-target']) return json(res, { Items: [], Count: 0, ScannedCount: 0 }, 'application/x-amz-json-1.0');
  if (body.includes('Action=PutMetricData')) {
    res.writeHead(200, { 'content-type': 'text/xml' });
    return res.end('<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></PutMetricDataResponse>');
  }
  res.writeHead(400, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ message: `bench server: nothing answers ${req.method} ${req.url}` }));
}

function json(res, value, type = 'application/json') {
  res.writeHead(200, { 'content-type': type });
  res.end(JSON.stringify(value));
}

function once(name, executable) {
  return new Promise((resolve, reject) => {
    let started;
    let child;
    let init;
    let nexts = 0;
    const finish = (result, error) => {
      child.kill('SIGKILL');
      server.close();
      server.closeAllConnections();
      if (error) reject(error);
      else resolve(result);
    };
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (req.url.endsWith('/invocation/next')) {
          nexts += 1;
          if (nexts === 1) {
            init = Number(process.hrtime.bigint() - started) / 1e6;
            res.writeHead(200, {
              'content-type': 'application/json',
              'lambda-runtime-aws-request-id': 'bench-request',
              'lambda-runtime-deadline-ms': String(Date.now() + 60000),
              'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:us-east-1:123456789012:function:bench',
            });
            res.end(eventFor(name));
          }
          // A second /next waits for ever; the process is killed once the answer is in.
        } else if (req.url.includes('/invocation/') && req.url.endsWith('/response')) {
          const first = Number(process.hrtime.bigint() - started) / 1e6;
          res.writeHead(202);
          res.end('{}');
          finish({ init, first });
        } else if (req.url.includes('/invocation/') && req.url.endsWith('/error')) {
          res.writeHead(202);
          res.end('{}');
          finish(null, new Error(`${executable} failed its first invocation: ${body.slice(0, 500)}`));
        } else {
          answer(req, body, res);
        }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const here = `127.0.0.1:${server.address().port}`;
      started = process.hrtime.bigint();
      child = spawn(executable, [], {
        env: {
          PATH: process.env.PATH,
          ...CONFIG,
          AWS_LAMBDA_RUNTIME_API: here,
          AWS_ENDPOINT_URL: `http://${here}`,
          CONNECT_CLUSTERS: JSON.stringify([{ name: 'main', url: `http://${here}/connect` }]),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c) => (stderr += c));
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') {
          server.close();
          reject(new Error(`${executable} exited (${code}) before answering its first invocation: ${stderr.slice(-500)}`));
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
  for (const [name, exe] of bins) await once(name, exe); // warm the page cache
  for (let i = 0; i < n; i++) {
    for (const [name, exe] of bins) times[name].push(await once(name, exe));
  }
  const ms = (t, key, q) => quantile(t.map((r) => r[key]), q).toFixed(2).padStart(7);
  console.log(`${'binary'.padEnd(28)} init: median      p90   init + first invocation: median      p90   (n=${n})`);
  for (const [name] of bins) {
    const t = times[name];
    console.log(`${name.padEnd(28)}       ${ms(t, 'init', 0.5)} ms ${ms(t, 'init', 0.9)} ms                          ${ms(t, 'first', 0.5)} ms ${ms(t, 'first', 0.9)} ms`);
  }
})().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
