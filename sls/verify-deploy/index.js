'use strict';
// A deploy that cannot fail quietly. serverless reports success when CloudFormation says so; this
// plugin checks, after `serverless deploy`, that the deploy took effect as the template says:
//
//   - the stack's status is CREATE_COMPLETE or UPDATE_COMPLETE, and if this deploy made stack
//     events, the newest one is that status (this deploy's events are those newer than the
//     newest event before it started: CloudFormation's clock, so a skewed local clock does not
//     matter);
//   - no resource event of this deploy ended in a *_FAILED state;
//   - the IAM roles (trust policy, inline policies, attached managed policies) and managed
//     policies in the account are the template's (GetRole / GetRolePolicy / GetPolicyVersion
//     against the template's documents, resolved with sls/cfn-eval.js).
// If not, it fails the command (exit 1) saying which resource failed, why (the event's
// ResourceStatusReason or the difference) and what to do.
//
// Before a deploy it also decides whether the deploy must go through even when serverless finds
// nothing new: serverless compares the package with the last upload, which a failed update
// leaves behind, and then skips the deploy. When the stack is UPDATE_ROLLBACK_COMPLETE, its last
// operation left a failed resource, or IAM in the account differs from the template, this sets
// serverless's own `--force`. A stack no deploy can start from (ROLLBACK_COMPLETE,
// UPDATE_ROLLBACK_FAILED, *_IN_PROGRESS) stops the deploy before anything is uploaded, with the
// command that resolves it. The decisions are in judge.js; docs/deploying.md, "Verified deploys".
//
// AWS calls use serverless's credentials and region (--aws-profile, --region) and honour
// AWS_ENDPOINT_URL (the deploy rehearsal against moto).

const fs = require('fs');
const path = require('path');
const {
  CloudFormationClient,
  DescribeStacksCommand,
  DescribeStackEventsCommand,
  ListStackResourcesCommand,
} = require('@aws-sdk/client-cloudformation');
const {
  IAMClient,
  GetRoleCommand,
  ListRolePoliciesCommand,
  GetRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
} = require('@aws-sdk/client-iam');
const { applyConditions, stackContext, pseudoParameters, resolve, Unresolvable } = require('../cfn-eval');
const judge = require('./judge');

// A long-lived stack has thousands of events; this deploy's are at the top.
const MAX_EVENT_PAGES = 20;
// IAM is eventually consistent: a difference right after an update is read again once.
const IAM_RETRY_MS = 10000;

const isMissingStack = (error) => error && error.name === 'ValidationError' && /does not exist/.test(error.message || '');
const isNoSuchEntity = (error) => error && (error.name === 'NoSuchEntity' || error.name === 'NoSuchEntityException');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class VerifyDeploy {
  constructor(serverless, options = {}, utils = {}) {
    this.serverless = serverless;
    this.options = options;
    this.provider = serverless.getProvider('aws');
    this.log = utils.log || { notice: (m) => process.stderr.write(`${m}\n`), warning: (m) => process.stderr.write(`${m}\n`) };
    this.iamRetryMs = process.env.AWS_ENDPOINT_URL ? 0 : IAM_RETRY_MS;
    this.before = null;
    this.hooks = {
      'before:deploy:deploy': () => this.beforeDeploy(),
      'after:deploy:deploy': () => this.afterDeploy(),
    };
  }

  error(message, code) {
    return new this.serverless.classes.Error(message, code);
  }

  async clients() {
    const config = await this.provider.getAwsSdkV3Config();
    return { cfn: new CloudFormationClient(config), iam: new IAMClient(config) };
  }

  names() {
    return { stackName: this.provider.naming.getStackName(), region: this.provider.getRegion() };
  }

  async describeStack(cfn, stackName) {
    try {
      const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
      return (out.Stacks && out.Stacks[0]) || null;
    } catch (error) {
      if (isMissingStack(error)) return null;
      throw error;
    }
  }

  /** Stack events newest first, down to (not including) `stopAt`, or until `enough(events)` says so. */
  async events(cfn, stackName, { stopAt, enough = () => false, pages = MAX_EVENT_PAGES }) {
    const out = [];
    let token;
    for (let page = 0; page < pages; page += 1) {
      const res = await cfn.send(new DescribeStackEventsCommand({ StackName: stackName, NextToken: token }));
      for (const e of res.StackEvents || []) {
        if (stopAt && e.EventId === stopAt) return out;
        out.push(e);
      }
      if (enough(out)) return out;
      token = res.NextToken;
      if (!token) break;
    }
    return out;
  }

  async stackResources(cfn, stackName) {
    const out = {};
    let token;
    do {
      const res = await cfn.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: token }));
      for (const r of res.StackResourceSummaries || []) {
        out[r.LogicalResourceId] = { type: r.ResourceType, physicalId: r.PhysicalResourceId, status: r.ResourceStatus };
      }
      token = res.NextToken;
    } while (token);
    return out;
  }

  /** The context sls/cfn-eval.js resolves template values in. */
  async context(cfn, stack) {
    const parameters = Object.fromEntries((stack.Parameters || []).map((p) => [p.ParameterKey, p.ParameterValue]));
    return stackContext({
      stackId: stack.StackId,
      stackName: stack.StackName,
      parameters,
      resources: await this.stackResources(cfn, stack.StackName),
      // moto 5.2.5, the deploy rehearsal's emulator, gives a log group's Arn without the ':*'
      // CloudFormation appends (docs/deploying.md, "What moto does not model").
      logGroupArnSuffix: process.env.AWS_ENDPOINT_URL ? '' : undefined,
    });
  }

  /** The template's IAM, resolved for the deployed stack; Unresolvable when it cannot be. */
  expectedIam(template, ctx) {
    const applied = applyConditions(template, ctx.parameters, pseudoParameters(ctx));
    const roles = [];
    const policies = [];
    for (const [logicalId, r] of Object.entries(applied.Resources || {})) {
      if (r.Type !== 'AWS::IAM::Role' && r.Type !== 'AWS::IAM::ManagedPolicy') continue;
      const deployed = ctx.resources[logicalId];
      if (!deployed || !deployed.physicalId) throw new Unresolvable(`${logicalId} (${r.Type}) is not in the stack`);
      const p = r.Properties || {};
      if (r.Type === 'AWS::IAM::Role') {
        roles.push({
          logicalId,
          physicalId: deployed.physicalId,
          assume: resolve(p.AssumeRolePolicyDocument, ctx),
          policies: Object.fromEntries((p.Policies || []).map((x) => [x.PolicyName, resolve(x.PolicyDocument, ctx)])),
          managed: resolve(p.ManagedPolicyArns || [], ctx),
        });
      } else {
        policies.push({ logicalId, physicalId: deployed.physicalId, document: resolve(p.PolicyDocument, ctx) });
      }
    }
    return { roles, policies };
  }

  /** The same shape as expectedIam, read from IAM. */
  async actualIam(iam, expected) {
    const roles = {};
    for (const role of expected.roles) {
      let got;
      try {
        got = await iam.send(new GetRoleCommand({ RoleName: role.physicalId }));
      } catch (error) {
        if (isNoSuchEntity(error)) continue;
        throw error;
      }
      const names = [];
      let marker;
      do {
        const page = await iam.send(new ListRolePoliciesCommand({ RoleName: role.physicalId, Marker: marker }));
        names.push(...(page.PolicyNames || []));
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
      const policies = {};
      for (const name of names) {
        const doc = await iam.send(new GetRolePolicyCommand({ RoleName: role.physicalId, PolicyName: name }));
        policies[name] = judge.parseDocument(doc.PolicyDocument);
      }
      const managed = [];
      marker = undefined;
      do {
        const page = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role.physicalId, Marker: marker }));
        managed.push(...(page.AttachedPolicies || []).map((a) => a.PolicyArn));
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
      roles[role.physicalId] = { assume: judge.parseDocument(got.Role.AssumeRolePolicyDocument), policies, managed };
    }
    const policies = {};
    for (const policy of expected.policies) {
      try {
        const got = await iam.send(new GetPolicyCommand({ PolicyArn: policy.physicalId }));
        const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: policy.physicalId, VersionId: got.Policy.DefaultVersionId }));
        policies[policy.physicalId] = judge.parseDocument(version.PolicyVersion.Document);
      } catch (error) {
        if (!isNoSuchEntity(error)) throw error;
      }
    }
    return { roles, policies };
  }

  /** [{ logicalId, type, physicalId, policy, differences }] and the expected documents. */
  async compareIam({ cfn, iam }, stack) {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const ctx = await this.context(cfn, stack);
    const expected = this.expectedIam(template, ctx);
    return { expected, differences: judge.iamDifferences(expected, await this.actualIam(iam, expected)) };
  }

  /** Writes the template's document of each role policy that differs, for `aws iam put-role-policy`. */
  writeExpected(expected, differences) {
    const files = {};
    const dir = path.join(this.serverless.serviceDir || process.cwd(), '.serverless', 'verify-deploy');
    for (const d of differences) {
      if (!d.differences.length || d.type !== 'AWS::IAM::Role' || !d.policy) continue;
      const role = expected.roles.find((r) => r.logicalId === d.logicalId);
      if (!role || !role.policies[d.policy]) continue;
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${d.logicalId}.${d.policy}.json`);
      fs.writeFileSync(file, `${JSON.stringify(role.policies[d.policy], null, 2)}\n`);
      files[`${d.logicalId}/${d.policy}`] = path.relative(process.cwd(), file);
    }
    return files;
  }

  async beforeDeploy() {
    const { stackName, region } = this.names();
    const clients = await this.clients();
    const stack = await this.describeStack(clients.cfn, stackName);
    this.before = { exists: Boolean(stack), newestEventId: null };
    if (!stack) return;

    const blocked = judge.blockingState(stack.StackStatus, { stackName, region });
    if (blocked) throw this.error(blocked, 'VERIFY_DEPLOY_STACK_BLOCKED');

    const lastEvents = await this.events(clients.cfn, stackName, {
      pages: 5,
      enough: (events) => judge.lastOperation(events, stackName).length < events.length,
    });
    this.before.newestEventId = lastEvents.length ? lastEvents[0].EventId : null;

    let iamProblems = [];
    try {
      const { differences } = await this.compareIam(clients, stack);
      iamProblems = differences.flatMap((d) => d.differences.map((x) => `${d.logicalId}${d.policy ? `/${d.policy}` : ''}: ${x}`));
    } catch (error) {
      if (error instanceof Unresolvable) {
        iamProblems = [/is not in the stack$/.test(error.message) ? `${error.message} yet` : error.message];
      } else {
        this.log.warning(`Could not compare IAM with the template before deploying (${error.name}: ${error.message}); the check after the deploy will.`);
      }
    }
    const reason = judge.forceReason({
      status: stack.StackStatus,
      lastEvents: judge.lastOperation(lastEvents, stackName),
      stackName,
      iamProblems,
    });
    if (reason && !this.options.force) {
      this.options.force = true; // serverless's own --force: no "nothing changed" skip
      this.log.notice(`Deploying even if serverless finds nothing new to upload: ${reason}.`);
    }
  }

  async afterDeploy() {
    const { stackName, region } = this.names();
    const clients = await this.clients();
    const stack = await this.describeStack(clients.cfn, stackName);
    if (!stack) throw this.error(`stack ${stackName} does not exist in ${region} after the deploy`, 'DEPLOY_NOT_VERIFIED');
    const newEvents = await this.events(clients.cfn, stackName, { stopAt: this.before && this.before.newestEventId });
    const status = stack.StackStatus;

    let iam = [];
    let iamError;
    let expectedFiles = {};
    if (judge.COMPLETE.has(status)) {
      try {
        let compared = await this.compareIam(clients, stack);
        if (compared.differences.some((d) => d.differences.length) && this.iamRetryMs) {
          await sleep(this.iamRetryMs);
          compared = await this.compareIam(clients, stack);
        }
        iam = compared.differences;
        expectedFiles = this.writeExpected(compared.expected, iam);
      } catch (error) {
        iamError = error instanceof Unresolvable ? error.message : `${error.name}: ${error.message}`;
      }
    }

    const v = judge.verdict({
      stackName,
      region,
      status,
      newEvents,
      skipped: Boolean(this.serverless.service.provider.shouldNotDeploy),
      iam,
      iamError,
      expectedFiles,
    });
    if (!v.ok) throw this.error(judge.renderFailure(v), 'DEPLOY_NOT_VERIFIED');
    this.log.notice(`Deploy ${v.summary}`);
  }
}

module.exports = VerifyDeploy;
