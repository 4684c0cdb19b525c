'use strict';
// Refuses deploys that would put something broken in place, before anything is uploaded.
//
// 1. Function zips that are not a release build. scripts/build.sh records the cargo profile of
//    the zips in target/lambda/build.json. CI builds them with the dev profile to check the stack
//    quickly; those zips are unoptimised and several times larger, and must never reach AWS by
//    accident. A deploy (or `deploy function`) to AWS therefore needs `"profile": "release"`.
//    Deploys to a local endpoint (AWS_ENDPOINT_URL, e.g. the deploy rehearsal against moto) are
//    allowed with any profile. A build.json from before the profile was recorded counts as release.
// 2. A stage with no Kafka Connect cluster: CONNECT_CLUSTERS empty or `[]` and no CONNECT_URL
//    would make every connect-health run fail. Checked for every stage but `local`, whatever the
//    endpoint (the rehearsal against moto follows the README and configures one).
// 3. Half a VPC configuration (packaging, so `plan` and `package` refuse it too): a function's
//    subnets without security groups or the other way round would silently leave it outside the
//    VPC (the stack's condition needs both), and ids must be comma-separated without spaces.

const fs = require('fs');
const path = require('path');
const { paramOfService } = require('./params');

const LOCAL_STAGE = 'local';

// Function -> its VPC params (serverless.yml, "Private networks" in docs/deploying.md).
const VPC_PARAMS = {
  connectHealth: { subnets: 'connectHealthSubnetIds', groups: 'connectHealthSecurityGroupIds' },
  costEtl: { subnets: 'costEtlSubnetIds', groups: 'costEtlSecurityGroupIds' },
};

/** True when a CONNECT_CLUSTERS value names no cluster ('' or an empty JSON array). Pure. */
function namesNoCluster(value) {
  if (value === undefined || value === null) return true;
  if (typeof value === 'object') return false; // a CloudFormation function: resolved by the deploy
  const text = String(value).trim();
  if (text === '') return true;
  try {
    const parsed = JSON.parse(text);
    return Array.isArray(parsed) && parsed.length === 0;
  } catch {
    return false; // not JSON: connect-health reports it; it is not "nothing configured"
  }
}

/** What is wrong with one function's VPC params, or null. Pure. */
function vpcProblem(fn, subnets, groups) {
  const names = VPC_PARAMS[fn];
  const s = String(subnets || '');
  const g = String(groups || '');
  if (!s && !g) return null;
  if (!s || !g) {
    return `${fn}: ${s ? names.subnets : names.groups} is set but ${s ? names.groups : names.subnets} is not; ` +
      'a function goes into a VPC only with both (comma-separated ids), so set both or neither';
  }
  const bad = [
    ...s.split(',').filter((id) => !/^subnet-[0-9a-f]{8,17}$/.test(id)).map((id) => `${names.subnets}: ${JSON.stringify(id)}`),
    ...g.split(',').filter((id) => !/^sg-[0-9a-f]{8,17}$/.test(id)).map((id) => `${names.groups}: ${JSON.stringify(id)}`),
  ];
  if (bad.length) {
    return `${fn}: not a subnet or security group id (comma-separated, no spaces): ${bad.join(', ')}`;
  }
  return null;
}

class BuildGuard {
  constructor(serverless, options = {}) {
    this.serverless = serverless;
    this.options = options;
    const deploy = () => {
      this.checkProfile();
      this.checkConnectClusters();
    };
    this.hooks = {
      'before:package:initialize': () => this.checkVpcParams(),
      'before:deploy:deploy': deploy,
      'before:deploy:function:initialize': deploy,
    };
  }

  error(message, code) {
    return new this.serverless.classes.Error(message, code);
  }

  stage() {
    const provider = this.serverless.service && this.serverless.service.provider;
    return this.options.stage || (provider && provider.stage) || 'dev';
  }

  checkProfile() {
    if (process.env.AWS_ENDPOINT_URL) return;
    const file = path.join(this.serverless.serviceDir, 'target', 'lambda', 'build.json');
    let build;
    try {
      build = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (error) {
      throw this.error(
        `cannot read ${file} (${error.message}): build the zips with scripts/build.sh before deploying`,
        'BUILD_GUARD_NO_BUILD_INFO'
      );
    }
    const profile = build.profile || 'release';
    if (profile !== 'release') {
      throw this.error(
        `the function zips in target/lambda are a '${profile}' build (LAMBDA_PROFILE=${profile}), not release; ` +
          'run `bash scripts/build.sh` (without LAMBDA_PROFILE) before deploying',
        'BUILD_GUARD_NOT_RELEASE'
      );
    }
  }

  checkConnectClusters() {
    const stage = this.stage();
    if (stage === LOCAL_STAGE) return;
    const service = this.serverless.service || {};
    const fn = service.functions && service.functions.connectHealth;
    if (!fn) return;
    const env = { ...((service.provider && service.provider.environment) || {}), ...(fn.environment || {}) };
    const url = env.CONNECT_URL;
    if (!namesNoCluster(env.CONNECT_CLUSTERS) || (url !== undefined && url !== null && String(url).trim() !== '')) return;
    throw this.error(
      `stage '${stage}' has no Kafka Connect cluster configured (CONNECT_CLUSTERS is ` +
        `${JSON.stringify(env.CONNECT_CLUSTERS === undefined ? '' : env.CONNECT_CLUSTERS)} and CONNECT_URL is not set), ` +
        'so every connect-health run would fail. Create ' +
        `config/${stage}/connect-clusters.json (see config/dev/connect-clusters.example.json), or set the ` +
        `stage param connectClusters, e.g. \${ssm:/pipeline/${stage}/connect-clusters}; ` +
        'README, "Deploy to your AWS account".',
      'BUILD_GUARD_NO_CONNECT_CLUSTER'
    );
  }

  checkVpcParams() {
    const stage = this.stage();
    const problems = Object.entries(VPC_PARAMS)
      .map(([fn, names]) => vpcProblem(fn, paramOfService(this.serverless, stage, names.subnets), paramOfService(this.serverless, stage, names.groups)))
      .filter(Boolean);
    if (problems.length) {
      throw this.error(
        `VPC params of stage '${stage}': ${problems.join('; ')} (docs/deploying.md, "Private networks")`,
        'BUILD_GUARD_VPC_PARAMS'
      );
    }
  }
}

module.exports = BuildGuard;
module.exports.namesNoCluster = namesNoCluster;
module.exports.vpcProblem = vpcProblem;
