'use strict';
// `serverless plan --stage X`: what `serverless deploy --stage X` would change, before it runs.
//
// Packages the stack, reads the deployed template (GetTemplate, stage Original), removes the
// code-key noise by comparing each zip's SHA-256 with the deployed object's `filesha256`
// metadata, evaluates both templates' Conditions as CloudFormation would (the deployed one with
// the stack's parameter values, the packaged one with its defaults, sls/cfn-eval.js: so a stage
// param that only flips a condition, like the VPC params, shows as the resources it changes),
// diffs the two with @aws-cdk/cloudformation-diff and adds this stack's warnings (FAIL, DATA
// LOSS, IAM; see sls/plan/report.js). Exit code: 0 no changes, 2 changes,
// 1 error. `--change-set` also asks AWS for a change set of its own (real AWS only: moto's
// change sets carry no replacement details), describes it and deletes it.
//
// AWS calls go through the AWS SDK v3 with serverless's own credentials and region
// (--aws-profile, --region) and honour AWS_ENDPOINT_URL.

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const {
  CloudFormationClient,
  GetTemplateCommand,
  DescribeStacksCommand,
  DescribeStackResourceCommand,
  CreateChangeSetCommand,
  DescribeChangeSetCommand,
  DeleteChangeSetCommand,
  waitUntilChangeSetCreateComplete,
} = require('@aws-sdk/client-cloudformation');
const { S3Client, HeadObjectCommand } = require('@aws-sdk/client-s3');
const { withoutCodeNoise, functionCode, buildPlan, renderPlan, planJson } = require('./report');
const { applyConditions, Unresolvable } = require('../cfn-eval');

const TEMPLATE_BODY_LIMIT = 51200;

function sha256Base64(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('base64');
}

function isMissingStack(error) {
  return error && error.name === 'ValidationError' && /does not exist/.test(error.message || '');
}

class Plan {
  constructor(serverless, options, utils = {}) {
    this.serverless = serverless;
    this.options = options;
    this.provider = serverless.getProvider('aws');
    this.log = utils.log || console;
    this.writeText = utils.writeText || ((text) => process.stdout.write(`${text}\n`));
    this.commands = {
      plan: {
        usage: 'Show what `serverless deploy` would change (exit 0: nothing, 2: changes, 1: error)',
        lifecycleEvents: ['plan'],
        options: {
          'change-set': {
            usage: "Also ask AWS for a change set (named '<stack>-plan-<time>', deleted afterwards); real AWS only",
            type: 'boolean',
          },
          json: {
            usage: 'Print the plan as JSON on stdout instead of text',
            type: 'boolean',
          },
        },
      },
    };
    this.hooks = { 'plan:plan': () => this.plan() };
  }

  error(message, code) {
    return new this.serverless.classes.Error(message, code || 'PLAN_ERROR');
  }

  async clients() {
    const config = await this.provider.getAwsSdkV3Config();
    return {
      cfn: new CloudFormationClient(config),
      // A local endpoint (moto) has no virtual-host buckets.
      s3: new S3Client({ ...config, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) }),
    };
  }

  async deployedTemplate(cfn, stackName) {
    let stack;
    try {
      const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
      stack = out.Stacks && out.Stacks[0];
    } catch (error) {
      if (isMissingStack(error)) return { exists: false, template: {} };
      throw error;
    }
    if (!stack || stack.StackStatus === 'REVIEW_IN_PROGRESS' || stack.StackStatus === 'DELETE_COMPLETE') {
      return { exists: false, template: {}, status: stack && stack.StackStatus };
    }
    const out = await cfn.send(new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' }));
    let template;
    try {
      template = JSON.parse(out.TemplateBody);
    } catch (error) {
      throw this.error(`the deployed template of ${stackName} is not JSON (${error.message}); was it deployed by serverless?`);
    }
    const parameters = Object.fromEntries((stack.Parameters || []).map((p) => [p.ParameterKey, p.ParameterValue]));
    return { exists: true, template, status: stack.StackStatus, parameters };
  }

  /** Per function: is the packaged zip the one deployed? (serverless stores filesha256 on upload) */
  async codeStatus({ cfn, s3 }, stackName, current, next) {
    const deployed = functionCode(current);
    const packaged = functionCode(next);
    const results = [];
    let bucket;
    for (const name of this.serverless.service.getAllFunctions()) {
      const fn = this.serverless.service.getFunction(name);
      const logicalId = this.provider.naming.getLambdaLogicalId(name);
      if (!packaged[logicalId]) continue;
      const artifact = path.resolve(this.serverless.serviceDir, (fn.package && fn.package.artifact) || '');
      if (!fs.existsSync(artifact)) {
        throw this.error(`function ${name}: artifact ${artifact} does not exist (run scripts/build.sh)`, 'PLAN_NO_ARTIFACT');
      }
      const local = sha256Base64(artifact);
      const old = deployed[logicalId];
      if (!old) {
        results.push({ name, logicalId, status: 'new', detail: '' });
        continue;
      }
      try {
        let objectBucket = old.S3Bucket;
        if (objectBucket && objectBucket.Ref) {
          if (!bucket) {
            const res = await cfn.send(new DescribeStackResourceCommand({ StackName: stackName, LogicalResourceId: objectBucket.Ref }));
            bucket = res.StackResourceDetail.PhysicalResourceId;
          }
          objectBucket = bucket;
        }
        if (typeof objectBucket !== 'string') throw new Error(`code bucket ${JSON.stringify(old.S3Bucket)} is not a name`);
        const head = await s3.send(new HeadObjectCommand({ Bucket: objectBucket, Key: old.S3Key }));
        const remote = head.Metadata && head.Metadata.filesha256;
        if (!remote) {
          results.push({ name, logicalId, status: 'unknown', detail: `(s3://${objectBucket}/${old.S3Key} has no filesha256 metadata)` });
        } else if (remote === local) {
          results.push({ name, logicalId, status: 'unchanged', detail: `sha256 ${local}` });
        } else {
          results.push({ name, logicalId, status: 'changed', detail: `sha256 ${remote} -> ${local}` });
        }
      } catch (error) {
        results.push({ name, logicalId, status: 'unknown', detail: `(deployed zip not readable: ${error.name || error.message})` });
      }
    }
    return results;
  }

  /** AWS's own answer: create a change set of our own, describe it, always delete it. */
  async changeSet(cfn, stackName, template) {
    const body = JSON.stringify(template);
    if (body.length > TEMPLATE_BODY_LIMIT) {
      throw this.error(`--change-set: the template is ${body.length} bytes, above CloudFormation's ${TEMPLATE_BODY_LIMIT}-byte inline limit`);
    }
    const name = `${stackName}-plan-${Date.now()}`;
    this.log.notice && this.log.notice(`Creating change set ${name} (deleted afterwards)`);
    await cfn.send(new CreateChangeSetCommand({
      StackName: stackName,
      ChangeSetName: name,
      ChangeSetType: 'UPDATE',
      TemplateBody: body,
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
      // No Parameters: like `serverless deploy`, the template's defaults (from the stage params) apply.
      IncludePropertyValues: true,
    }));
    try {
      try {
        await waitUntilChangeSetCreateComplete({ client: cfn, maxWaitTime: 300 }, { StackName: stackName, ChangeSetName: name });
      } catch (error) {
        const described = await cfn.send(new DescribeChangeSetCommand({ StackName: stackName, ChangeSetName: name }));
        if (/didn't contain changes|No updates are to be performed/.test(described.StatusReason || '')) {
          return { ...described, Changes: [] };
        }
        throw this.error(`change set ${name} failed: ${described.StatusReason || error.message}`);
      }
      const out = { Changes: [] };
      let token;
      do {
        const page = await cfn.send(new DescribeChangeSetCommand({ StackName: stackName, ChangeSetName: name, NextToken: token, IncludePropertyValues: true }));
        Object.assign(out, page, { Changes: out.Changes.concat(page.Changes || []) });
        token = page.NextToken;
      } while (token);
      return out;
    } finally {
      await cfn.send(new DeleteChangeSetCommand({ StackName: stackName, ChangeSetName: name })).catch((error) => {
        this.log.warning && this.log.warning(`Could not delete change set ${name}: ${error.message}; delete it by hand`);
      });
    }
  }

  /**
   * Both templates as CloudFormation deploys them (conditions applied): the deployed one with the
   * stack's parameter values, the packaged one with its defaults (serverless passes none).
   */
  evaluated(deployed, next, region) {
    const pseudo = { 'AWS::Region': region };
    try {
      return {
        current: deployed.exists ? applyConditions(deployed.template, deployed.parameters, pseudo) : {},
        next: applyConditions(next, {}, pseudo),
      };
    } catch (error) {
      if (!(error instanceof Unresolvable)) throw error;
      if (this.log.warning) this.log.warning(`Conditions not evaluated (${error.message}); comparing the templates as written`);
      return { current: deployed.template, next };
    }
  }

  async plan() {
    await this.serverless.pluginManager.spawn('package');
    const next = JSON.parse(JSON.stringify(this.serverless.service.provider.compiledCloudFormationTemplate));
    const stackName = this.provider.naming.getStackName();
    const region = this.provider.getRegion();
    const stage = this.provider.getStage();

    let result;
    try {
      const clients = await this.clients();
      const deployed = await this.deployedTemplate(clients.cfn, stackName);
      const code = deployed.exists ? await this.codeStatus(clients, stackName, deployed.template, next) : [];
      const status = Object.fromEntries(code.map((c) => [c.logicalId, c.status]));
      const normalized = withoutCodeNoise(deployed.template, next, status);
      let changeSet;
      if (this.options['change-set']) {
        if (!deployed.exists) {
          this.log.notice && this.log.notice('--change-set: the stack does not exist yet, nothing to compare with');
        } else {
          if (process.env.AWS_ENDPOINT_URL && this.log.warning) {
            // moto answers an update's change set with every resource as "Add" and no replacement details.
            this.log.warning('--change-set against AWS_ENDPOINT_URL: a local emulator\'s change set is not AWS\'s answer');
          }
          changeSet = await this.changeSet(clients.cfn, stackName, normalized);
        }
      }
      result = buildPlan({ ...this.evaluated(deployed, normalized, region), code, changeSet, stackExists: deployed.exists });
      if (deployed.status && /(_IN_PROGRESS|_FAILED|ROLLBACK_COMPLETE)$/.test(deployed.status) && deployed.status !== 'UPDATE_ROLLBACK_COMPLETE') {
        result.warnings.unshift({ level: 'FAIL', logicalId: stackName, message: `the stack is in state ${deployed.status}; a deploy cannot proceed until it is resolved` });
      }
    } catch (error) {
      if (error instanceof this.serverless.classes.Error) throw error;
      throw this.error(`plan failed while reading the deployed stack ${stackName} in ${region}: ${error.name}: ${error.message}`);
    }

    if (this.options.json) {
      this.writeText(JSON.stringify({ stackName, stage, region, ...planJson(result) }, null, 2));
    } else {
      this.writeText(renderPlan(result, { stackName, stage, region }));
    }
    process.exitCode = result.changed ? 2 : 0;
  }
}

module.exports = Plan;
