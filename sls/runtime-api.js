'use strict';
// A one-shot Lambda Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html)
// on 127.0.0.1: hands one event to a real function binary, takes its response or error, stops it.
//
// Enough of the API for a custom runtime such as the Rust `lambda_runtime` crate:
//   GET  /2018-06-01/runtime/invocation/next            -> the event (then: never answers again)
//   POST /2018-06-01/runtime/invocation/{id}/response   -> success
//   POST /2018-06-01/runtime/invocation/{id}/error      -> function error
//   POST /2018-06-01/runtime/init/error                 -> init error
// The function's timeout is enforced as Lambda does ("Task timed out after N seconds"), and a
// binary that exits before answering is an error with its exit status.

const http = require('http');
const crypto = require('crypto');
const { spawn } = require('child_process');

const MAX_BODY = 6 * 1024 * 1024; // Lambda's synchronous response limit

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error(`response larger than ${MAX_BODY} bytes`));
        req.destroy();
      } else {
        chunks.push(c);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Run `executable` once against `event` (a JSON string).
 * Resolves { ok: true, body } or { ok: false, body, reason }; never rejects for function errors.
 * The binary's stdout and stderr (its logs) go to `stdio`: by default our stderr, so that, as with
 * a real Lambda, the logs never mix with the answer.
 */
function invokeOnce({ executable, env, event, timeoutSeconds, functionArn, cwd, stdio = 2 }) {
  const requestId = crypto.randomUUID();
  const base = '/2018-06-01/runtime';
  let delivered = false;
  let child;
  let timer;

  return new Promise((resolve, reject) => {
    let settled = false;
    const server = http.createServer();
    const finish = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      server.close();
      // Held `next` requests would keep the server open.
      server.closeAllConnections && server.closeAllConnections();
      resolve(outcome);
    };

    server.on('request', async (req, res) => {
      try {
        if (req.method === 'GET' && req.url === `${base}/invocation/next`) {
          if (delivered) return; // the one event is taken: hold the poll until we stop the binary
          delivered = true;
          const deadline = Date.now() + timeoutSeconds * 1000;
          res.writeHead(200, {
            'content-type': 'application/json',
            'lambda-runtime-aws-request-id': requestId,
            'lambda-runtime-deadline-ms': String(deadline),
            'lambda-runtime-invoked-function-arn': functionArn,
            'lambda-runtime-trace-id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${crypto.randomBytes(12).toString('hex')};Sampled=0`,
          });
          res.end(event);
          return;
        }
        const body = await readBody(req);
        if (req.method === 'POST' && req.url === `${base}/invocation/${requestId}/response`) {
          res.writeHead(202).end('{"status":"OK"}');
          finish({ ok: true, body });
        } else if (req.method === 'POST' && req.url === `${base}/invocation/${requestId}/error`) {
          res.writeHead(202).end('{"status":"OK"}');
          finish({ ok: false, body, reason: 'the function returned an error' });
        } else if (req.method === 'POST' && req.url === `${base}/init/error`) {
          res.writeHead(202).end('{"status":"OK"}');
          finish({ ok: false, body, reason: 'the function failed to initialise' });
        } else {
          res.writeHead(404).end();
        }
      } catch (error) {
        res.writeHead(413).end();
        finish({ ok: false, body: '', reason: error.message });
      }
    });

    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      try {
        child = spawn(executable, [], { env: { ...env, AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}` }, cwd, stdio: ['ignore', stdio, stdio] });
      } catch (error) {
        finish({ ok: false, body: '', reason: `cannot start ${executable}: ${error.message}` });
        return;
      }
      child.on('error', (error) => finish({ ok: false, body: '', reason: `cannot start ${executable}: ${error.message}` }));
      child.on('exit', (code, signal) =>
        finish({
          ok: false,
          body: JSON.stringify({ errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${requestId} Error: Runtime exited ${signal ? `on signal ${signal}` : `with error: exit status ${code}`}` }),
          reason: `the binary exited (${signal || code}) before answering`,
        })
      );
      timer = setTimeout(
        () =>
          finish({
            ok: false,
            body: JSON.stringify({ errorType: 'Sandbox.Timedout', errorMessage: `RequestId: ${requestId} Error: Task timed out after ${timeoutSeconds.toFixed(2)} seconds` }),
            reason: `timed out after ${timeoutSeconds} s`,
          }),
        timeoutSeconds * 1000
      );
    });
  });
}

module.exports = { invokeOnce };
