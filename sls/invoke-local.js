'use strict';
// `serverless invoke local -f <fn>` for the Rust functions, natively: no Docker.
//
// For `provided.*` functions, the built-in invoke-local (which needs a Docker daemon for these
// runtimes) is replaced by: build the function's binary for this machine (dev profile; the binary
// named after the artifact, e.g. target/lambda/cost-etl.zip -> cost-etl), start a
// one-shot Lambda Runtime API on 127.0.0.1 (sls/runtime-api.js), run the real binary against it
// with the function's environment from serverless.yml merged with --env, and print the answer the
// way `serverless invoke` does. A function error prints the error and exits non-zero.
// Other runtimes keep the built-in behaviour.
//
// Environment values that are CloudFormation references (e.g. `!Ref IdempotencyTable`) become
// the resource's explicit name where the template gives one (tables), else the deployed stack's
// physical id when the stack exists (honours AWS_ENDPOINT_URL); anything still unresolved must
// come from --env, and the command says which.

const path = require('path');
const { spawn } = require('child_process');
const fs = require('fs');
const { invokeOnce } = require('./runtime-api');

const NAME_FOR_REF = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::SNS::Topic': null,
};

function parseEnvOptions(env) {
  const out = {};
  for (const item of [].concat(env || [])) {
    const at = String(item).indexOf('=');
    if (at <= 0) throw new Error(`--env ${item}: expected NAME=value`);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

class RustInvokeLocal {
  constructor(serverless, options, utils = {}) {
    this.serverless = serverless;
    this.options = options;
    this.provider = serverless.getProvider('aws');
    this.log = utils.log;
    this.writeText = utils.writeText || ((text) => process.stdout.write(`${text}\n`));
    // Built-in plugins are loaded before service plugins, so their hooks are registered: wrap
    // AwsInvokeLocal's so that it still handles every runtime but ours.
    const hooks = serverless.pluginManager.hooks;
    for (const event of ['before:invoke:local:loadEnvVars', 'invoke:local:invoke']) {
      for (const entry of hooks[event] || []) {
        if (entry.pluginName !== 'AwsInvokeLocal') continue;
        const original = entry.hook;
        entry.hook = async () => {
          if (!this.isNative()) return original();
          if (event === 'invoke:local:invoke') return this.invoke();
          return undefined;
        };
      }
    }
  }

  functionObj() {
    return this.serverless.service.getFunction(this.options.function);
  }

  isNative() {
    if (this.options.docker) return false;
    const fn = this.functionObj();
    const runtime = fn.runtime || this.serverless.service.provider.runtime || '';
    return runtime.startsWith('provided') && Boolean(fn.package && fn.package.artifact);
  }

  error(message, code) {
    return new this.serverless.classes.Error(message, code || 'RUST_INVOKE_LOCAL');
  }

  readEvent() {
    let raw = this.options.data;
    if (raw === undefined && this.options.path) {
      const file = path.resolve(this.serverless.serviceDir, this.options.path);
      if (!fs.existsSync(file)) throw this.error(`--path ${this.options.path}: no such file (${file})`);
      raw = fs.readFileSync(file, 'utf8');
    }
    if (raw === undefined || raw === '') return '{}';
    if (typeof raw !== 'string') return JSON.stringify(raw);
    if (this.options.raw) return JSON.stringify(raw);
    try {
      return JSON.stringify(JSON.parse(raw));
    } catch (error) {
      throw this.error(`the event is not JSON (${error.message}); pass --raw to send it as a string`);
    }
  }

  async buildBinary(bin) {
    const cargo = process.env.CARGO || 'cargo';
    // The same selection as `make test` and `make run` (--workspace --all-targets): cargo unifies
    // dependency features per selection, so building only `--bin <name>` would compile a second
    // set of dependencies next to the one those commands already built.
    const args = ['build', '--workspace', '--all-targets', '--message-format=json-render-diagnostics'];
    if (this.log) this.log.notice(`Building ${bin} for this machine (cargo build --workspace --all-targets)`);
    return new Promise((resolve, reject) => {
      const child = spawn(cargo, args, { cwd: this.serverless.serviceDir, stdio: ['ignore', 'pipe', 'inherit'] });
      let executable = null;
      let buffer = '';
      child.stdout.on('data', (chunk) => {
        buffer += chunk;
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          try {
            const msg = JSON.parse(line);
            // The binary itself, not its unit-test harness (same target name, profile.test true).
            const isBin = msg.target && msg.target.kind && msg.target.kind.includes('bin') && msg.profile && !msg.profile.test;
            if (msg.reason === 'compiler-artifact' && msg.executable && isBin && msg.target.name === bin) executable = msg.executable;
          } catch {
            // not a cargo message
          }
        }
      });
      child.on('error', (error) => reject(this.error(`cannot run cargo (${error.message}); is the Rust toolchain installed?`)));
      child.on('close', (code) => {
        if (code !== 0) reject(this.error(`cargo build failed (exit ${code}), see above`));
        else if (!executable) reject(this.error(`cargo built no executable named ${bin}`));
        else resolve(executable);
      });
    });
  }

  async resolveEnvironment(fnObj, overrides) {
    const resources = (this.serverless.service.resources && this.serverless.service.resources.Resources) || {};
    const merged = { ...(this.serverless.service.provider.environment || {}), ...(fnObj.environment || {}) };
    const env = {};
    const unresolved = [];
    for (const [name, value] of Object.entries(merged)) {
      if (name in overrides || value == null) continue;
      if (typeof value !== 'object') {
        env[name] = String(value);
        continue;
      }
      const ref = value.Ref;
      const resource = ref && resources[ref];
      const nameProp = resource && NAME_FOR_REF[resource.Type];
      const explicit = nameProp && resource.Properties && resource.Properties[nameProp];
      if (typeof explicit === 'string') {
        env[name] = explicit;
        continue;
      }
      unresolved.push([name, value]);
    }
    if (unresolved.length) {
      const stackName = this.provider.naming.getStackName();
      for (const [name, value] of unresolved.splice(0)) {
        try {
          if (!value.Ref) throw new Error('not a Ref');
          const res = await this.provider.request('CloudFormation', 'describeStackResource', {
            StackName: stackName,
            LogicalResourceId: value.Ref,
          });
          env[name] = res.StackResourceDetail.PhysicalResourceId;
        } catch {
          unresolved.push([name, value]);
        }
      }
    }
    if (unresolved.length) {
      const list = unresolved.map(([n, v]) => `${n} (${JSON.stringify(v)})`).join(', ');
      throw this.error(
        `cannot resolve ${list} without the deployed stack; pass them with --env, e.g. ` +
          unresolved.map(([n]) => `--env ${n}=...`).join(' '),
        'RUST_INVOKE_LOCAL_UNRESOLVED_ENV'
      );
    }
    return env;
  }

  async invoke() {
    const fnObj = this.functionObj();
    const bin = path.basename(fnObj.package.artifact).replace(/\.zip$/, '');
    let overrides;
    try {
      overrides = parseEnvOptions(this.options.env);
    } catch (error) {
      throw this.error(error.message);
    }
    const event = this.readEvent();
    const configured = await this.resolveEnvironment(fnObj, overrides);
    const executable = await this.buildBinary(bin);

    const region = this.provider.getRegion();
    const memory = Number(fnObj.memorySize || this.serverless.service.provider.memorySize || 1024);
    const timeout = Number(fnObj.timeout || this.serverless.service.provider.timeout || 6);
    const lambdaEnv = {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_LAMBDA_FUNCTION_NAME: fnObj.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memory),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fnObj.name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: 'local/[$LATEST]invoke-local',
      AWS_EXECUTION_ENV: 'AWS_Lambda_provided.al2023',
      _HANDLER: fnObj.handler || 'bootstrap',
      IS_LOCAL: 'true',
    };
    // The caller's environment (PATH, credentials, AWS_ENDPOINT_URL for local peers) passes
    // through, as it does for the built-in invoke local; then Lambda's, then serverless.yml's,
    // then --env.
    const env = { ...process.env, ...lambdaEnv, ...configured, ...overrides };

    const result = await invokeOnce({
      executable,
      env,
      event,
      timeoutSeconds: timeout,
      functionArn: `arn:aws:lambda:${region}:000000000000:function:${fnObj.name}`,
      cwd: this.serverless.serviceDir,
    });

    const body = result.body || '';
    let printed;
    try {
      printed = JSON.stringify(JSON.parse(body), null, 4);
    } catch {
      printed = body;
    }
    if (printed) this.writeText(printed);
    if (!result.ok) {
      throw this.error(`Invoked function failed: ${result.reason}`, 'RUST_INVOKE_LOCAL_FUNCTION_FAILED');
    }
  }
}

module.exports = RustInvokeLocal;
