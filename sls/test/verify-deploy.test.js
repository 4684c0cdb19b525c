'use strict';
// sls/verify-deploy: the verdict on a deploy (judge.js, pure) and the plugin's hooks against a
// local stub of CloudFormation and IAM. The stub is where the failures moto cannot produce are
// injected: an update that failed on the deployer's IAM permissions and was rolled back
// (UPDATE_ROLLBACK_COMPLETE, with its DescribeStackEvents), a clean-up that left a resource
// DELETE_FAILED, a stack stuck in UPDATE_ROLLBACK_FAILED.
// Run: node --test sls/test/verify-deploy.test.js

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const judge = require('../verify-deploy/judge');
const VerifyDeploy = require('../verify-deploy');

class ServerlessError extends Error {}

const STACK = 'pipeline-functions-prod';
const STACK_ID = `arn:aws:cloudformation:eu-west-1:123456789012:stack/${STACK}/0d1e`;
const QUEUE_URL = `https://sqs.eu-west-1.amazonaws.com/123456789012/${STACK}-jobs`;
const QUEUE_ARN = `arn:aws:sqs:eu-west-1:123456789012:${STACK}-jobs`;
const ROLE = `${STACK}-CostEtlRole-ABC123`;
const POLICY_ARN = `arn:aws:iam::123456789012:policy/${STACK}-orchestrator`;
const DENIED = `User: arn:aws:iam::123456789012:user/deployer is not authorized to perform: iam:PutRolePolicy on resource: role ${ROLE} ` +
  'because no identity-based policy allows the iam:PutRolePolicy action (Service: Iam, Status Code: 403)';

const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] };

// The template serverless deploys (its IAM part): one role with an inline policy, one managed policy.
function template(actions = ['sqs:ReceiveMessage', 'sqs:DeleteMessage']) {
  return {
    Resources: {
      JobsQueue: { Type: 'AWS::SQS::Queue', Properties: {} },
      CostEtlRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: trust,
          Policies: [{
            PolicyName: 'cost-etl',
            PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'ConsumeJobs', Effect: 'Allow', Action: actions, Resource: { 'Fn::GetAtt': ['JobsQueue', 'Arn'] } }] },
          }],
        },
      },
      OrchestratorPolicy: {
        Type: 'AWS::IAM::ManagedPolicy',
        Properties: {
          PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'JobsQueue', Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: { 'Fn::GetAtt': ['JobsQueue', 'Arn'] } }] },
        },
      },
    },
  };
}

let clock = Date.parse('2026-12-01T10:00:00Z');
let seq = 0;
function event(logicalId, type, status, reason) {
  clock += 1000;
  seq += 1;
  return { EventId: `e${seq}`, StackName: STACK, LogicalResourceId: logicalId, ResourceType: type, ResourceStatus: status, ResourceStatusReason: reason, Timestamp: new Date(clock) };
}
const stackEvent = (status, reason) => event(STACK, 'AWS::CloudFormation::Stack', status, reason);

// The events of one operation, oldest first as they happen.
function successfulUpdate() {
  return [stackEvent('UPDATE_IN_PROGRESS', 'User Initiated'), event('CostEtlRole', 'AWS::IAM::Role', 'UPDATE_IN_PROGRESS'),
    event('CostEtlRole', 'AWS::IAM::Role', 'UPDATE_COMPLETE'), stackEvent('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'), stackEvent('UPDATE_COMPLETE')];
}
function updateDeniedOnIam() {
  return [stackEvent('UPDATE_IN_PROGRESS', 'User Initiated'), event('CostEtlRole', 'AWS::IAM::Role', 'UPDATE_IN_PROGRESS'),
    event('CostEtlRole', 'AWS::IAM::Role', 'UPDATE_FAILED', DENIED),
    event('CostEtlLambdaFunction', 'AWS::Lambda::Function', 'UPDATE_FAILED', 'Resource update cancelled'),
    stackEvent('UPDATE_ROLLBACK_IN_PROGRESS', 'The following resource(s) failed to update: [CostEtlRole].'),
    event('CostEtlRole', 'AWS::IAM::Role', 'UPDATE_COMPLETE'), stackEvent('UPDATE_ROLLBACK_COMPLETE')];
}

/** CloudFormation and IAM as the plugin sees them; `world` is changed between the hooks. */
function stubs(world) {
  const encode = (doc) => encodeURIComponent(JSON.stringify(doc)); // IAM answers URL-encoded JSON
  const cfn = {
    async send(cmd) {
      const input = cmd.input;
      switch (cmd.constructor.name) {
        case 'DescribeStacksCommand':
          if (!world.status) {
            const e = new Error(`Stack with id ${input.StackName} does not exist`);
            e.name = 'ValidationError';
            throw e;
          }
          return { Stacks: [{ StackName: STACK, StackId: STACK_ID, StackStatus: world.status, Parameters: [] }] };
        case 'DescribeStackEventsCommand': {
          const all = [...world.events].reverse(); // newest first, 3 a page
          const start = Number(input.NextToken || 0);
          return { StackEvents: all.slice(start, start + 3), NextToken: start + 3 < all.length ? String(start + 3) : undefined };
        }
        case 'ListStackResourcesCommand':
          return {
            StackResourceSummaries: [
              { LogicalResourceId: 'JobsQueue', ResourceType: 'AWS::SQS::Queue', PhysicalResourceId: QUEUE_URL },
              { LogicalResourceId: 'CostEtlRole', ResourceType: 'AWS::IAM::Role', PhysicalResourceId: ROLE },
              { LogicalResourceId: 'OrchestratorPolicy', ResourceType: 'AWS::IAM::ManagedPolicy', PhysicalResourceId: POLICY_ARN },
            ],
          };
        default:
          throw new Error(`unexpected ${cmd.constructor.name}`);
      }
    },
  };
  const iam = {
    async send(cmd) {
      const input = cmd.input;
      switch (cmd.constructor.name) {
        case 'GetRoleCommand':
          return { Role: { RoleName: input.RoleName, AssumeRolePolicyDocument: encode(trust) } };
        case 'ListRolePoliciesCommand':
          return { PolicyNames: Object.keys(world.rolePolicies), IsTruncated: false };
        case 'GetRolePolicyCommand':
          return { PolicyDocument: encode(world.rolePolicies[input.PolicyName]) };
        case 'ListAttachedRolePoliciesCommand':
          return { AttachedPolicies: [], IsTruncated: false };
        case 'GetPolicyCommand':
          return { Policy: { Arn: input.PolicyArn, DefaultVersionId: 'v2' } };
        case 'GetPolicyVersionCommand':
          return { PolicyVersion: { Document: encode(world.managedPolicy) } };
        default:
          throw new Error(`unexpected ${cmd.constructor.name}`);
      }
    },
  };
  return { cfn, iam };
}

function accountMatching(tpl) {
  return {
    rolePolicies: { 'cost-etl': { ...tpl.Resources.CostEtlRole.Properties.Policies[0].PolicyDocument, Statement: [{ ...tpl.Resources.CostEtlRole.Properties.Policies[0].PolicyDocument.Statement[0], Resource: QUEUE_ARN }] } },
    managedPolicy: { Version: '2012-10-17', Statement: [{ Sid: 'JobsQueue', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE_ARN }] },
  };
}

function plugin(world, tpl, { shouldNotDeploy = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-deploy-'));
  const notices = [];
  const serverless = {
    classes: { Error: ServerlessError },
    serviceDir: dir,
    service: { provider: { compiledCloudFormationTemplate: tpl, shouldNotDeploy } },
    getProvider: () => ({
      naming: { getStackName: () => STACK },
      getRegion: () => 'eu-west-1',
      getAwsSdkV3Config: async () => ({}),
    }),
  };
  const options = {};
  const p = new VerifyDeploy(serverless, options, { log: { notice: (m) => notices.push(m), warning: (m) => notices.push(m) } });
  p.iamRetryMs = 0;
  p.clients = async () => stubs(world);
  return { p, options, notices, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

test('a successful update with IAM as in the template is verified', async () => {
  const tpl = template();
  const world = { status: 'UPDATE_COMPLETE', events: successfulUpdate(), ...accountMatching(tpl) };
  const { p, options, notices, cleanup } = plugin(world, tpl);
  await p.hooks['before:deploy:deploy']();
  assert.equal(options.force, undefined, 'nothing failed before: no force');
  world.events.push(...successfulUpdate());
  await p.hooks['after:deploy:deploy']();
  assert.match(notices.at(-1), /verified pipeline-functions-prod: UPDATE_COMPLETE \(5 stack event\(s\) of this deploy, no failed resource\); IAM as in the template \(1 role\(s\), 1 managed policy/);
  cleanup();
});

test('an update that failed on the deployer\'s IAM permissions and rolled back fails the command, naming the resource and the reason', async () => {
  const tpl = template(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']);
  const world = { status: 'UPDATE_COMPLETE', events: successfulUpdate(), ...accountMatching(template()) };
  const { p, cleanup } = plugin(world, tpl);
  await p.hooks['before:deploy:deploy']();
  // What CloudFormation does meanwhile (moto cannot): the role update is denied, everything rolls back.
  world.events.push(...updateDeniedOnIam());
  world.status = 'UPDATE_ROLLBACK_COMPLETE';
  await assert.rejects(p.hooks['after:deploy:deploy'](), (error) => {
    assert.ok(error instanceof ServerlessError);
    const text = error.message;
    assert.match(text, /stack pipeline-functions-prod is UPDATE_ROLLBACK_COMPLETE: the change failed and CloudFormation rolled it back/);
    assert.match(text, /- CostEtlRole \(AWS::IAM::Role\) UPDATE_FAILED: User: .* is not authorized to perform: iam:PutRolePolicy/);
    // The root cause comes before what was cancelled because of it.
    assert.ok(text.indexOf('CostEtlRole (AWS::IAM::Role) UPDATE_FAILED') < text.indexOf('CostEtlLambdaFunction (AWS::Lambda::Function) UPDATE_FAILED: Resource update cancelled'));
    assert.match(text, /What to do:\n {2}- The identity that deploys lacks a permission .* run the same `serverless deploy` again: it sees the failed update and forces it/);
    return true;
  });
  cleanup();
});

test('the next deploy after that failure is forced, although serverless would find nothing new to upload', async () => {
  const tpl = template(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']);
  const world = { status: 'UPDATE_ROLLBACK_COMPLETE', events: [...successfulUpdate(), ...updateDeniedOnIam()], ...accountMatching(template()) };
  const { p, options, notices, cleanup } = plugin(world, tpl);
  await p.hooks['before:deploy:deploy']();
  assert.equal(options.force, true, 'serverless\'s --force is set');
  assert.match(notices.join('\n'), /Deploying even if serverless finds nothing new to upload: the last update of pipeline-functions-prod failed and was rolled back \(CostEtlRole \(AWS::IAM::Role\) UPDATE_FAILED: User: .*iam:PutRolePolicy/);
  // The permission was granted: this time the update goes through.
  world.events.push(...successfulUpdate());
  world.status = 'UPDATE_COMPLETE';
  Object.assign(world, accountMatching(tpl));
  await p.hooks['after:deploy:deploy']();
  assert.match(notices.at(-1), /^Deploy verified pipeline-functions-prod: UPDATE_COMPLETE/);
  cleanup();
});

test('a stack that reports success while IAM in the account differs fails, with the statement and the command that puts it back', async () => {
  const tpl = template(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']);
  const world = { status: 'UPDATE_COMPLETE', events: successfulUpdate(), ...accountMatching(template()) };
  const { p, options, cleanup } = plugin(world, tpl);
  await p.hooks['before:deploy:deploy']();
  assert.equal(options.force, true, 'IAM differs from the template being deployed: forced');
  world.events.push(...successfulUpdate()); // CloudFormation said yes, IAM kept the old document
  await assert.rejects(p.hooks['after:deploy:deploy'](), (error) => {
    assert.match(error.message, new RegExp(`CostEtlRole \\(AWS::IAM::Role ${ROLE}\\), policy cost-etl: statement ConsumeJobs: Action sqs:ChangeMessageVisibility in the template but not in the account`));
    assert.match(error.message, new RegExp(`aws iam put-role-policy --role-name ${ROLE} --policy-name cost-etl --policy-document file://.*CostEtlRole\\.cost-etl\\.json`));
    return true;
  });
  const written = JSON.parse(fs.readFileSync(path.join(p.serverless.serviceDir, '.serverless', 'verify-deploy', 'CostEtlRole.cost-etl.json'), 'utf8'));
  assert.deepEqual(written.Statement[0], { Sid: 'ConsumeJobs', Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'], Resource: QUEUE_ARN });
  cleanup();
});

test('a resource left DELETE_FAILED by the clean-up fails the deploy even though the stack is UPDATE_COMPLETE', async () => {
  const tpl = template();
  const world = { status: 'UPDATE_COMPLETE', events: successfulUpdate(), ...accountMatching(tpl) };
  const { p, cleanup } = plugin(world, tpl);
  await p.hooks['before:deploy:deploy']();
  world.events.push(stackEvent('UPDATE_IN_PROGRESS', 'User Initiated'), stackEvent('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'),
    event('OldBucket', 'AWS::S3::Bucket', 'DELETE_FAILED', 'The bucket you tried to delete is not empty'), stackEvent('UPDATE_COMPLETE'));
  await assert.rejects(p.hooks['after:deploy:deploy'](), /OldBucket \(AWS::S3::Bucket\) DELETE_FAILED: The bucket you tried to delete is not empty[\s\S]*remove or fix them by hand/);
  cleanup();
});

test('a deploy serverless skipped on an unchanged, healthy stack is verified without events', async () => {
  const tpl = template();
  const world = { status: 'UPDATE_COMPLETE', events: successfulUpdate(), ...accountMatching(tpl) };
  const { p, notices, cleanup } = plugin(world, tpl, { shouldNotDeploy: true });
  await p.hooks['before:deploy:deploy']();
  await p.hooks['after:deploy:deploy']();
  assert.match(notices.at(-1), /UPDATE_COMPLETE \(serverless found nothing new to deploy\)/);
  cleanup();
});

test('a stack no deploy can start from stops the deploy before anything is uploaded, with the command that resolves it', async () => {
  const tpl = template();
  for (const [status, hint] of [['UPDATE_ROLLBACK_FAILED', /continue-update-rollback --stack-name pipeline-functions-prod --region eu-west-1/],
    ['ROLLBACK_COMPLETE', /delete-stack --stack-name pipeline-functions-prod/], ['UPDATE_IN_PROGRESS', /another operation is still running/]]) {
    const { p, cleanup } = plugin({ status, events: [], ...accountMatching(tpl) }, tpl);
    await assert.rejects(p.hooks['before:deploy:deploy'](), hint);
    cleanup();
  }
});

test('judge: the events of the last operation stop at its "User Initiated" start; failures root cause first', () => {
  const events = [...successfulUpdate(), ...updateDeniedOnIam()].reverse();
  const last = judge.lastOperation(events, STACK);
  assert.equal(last.length, updateDeniedOnIam().length);
  assert.deepEqual(judge.failedResources(last, STACK).map((e) => e.LogicalResourceId), ['CostEtlRole', 'CostEtlLambdaFunction']);
  assert.equal(judge.forceReason({ status: 'UPDATE_COMPLETE', lastEvents: judge.lastOperation(successfulUpdate().reverse(), STACK), stackName: STACK }), null);
});

test('judge: policy documents compare as IAM means them (one value or a list, order, case of actions), differences named', () => {
  const a = { Statement: [{ Sid: 'S', Effect: 'Allow', Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes'], Resource: 'r', Condition: { Bool: { 'aws:SecureTransport': true } } }] };
  const b = { Statement: [{ Sid: 'S', Effect: 'Allow', Action: ['SQS:GetQueueAttributes', 'sqs:sendmessage'], Resource: ['r'], Condition: { Bool: { 'aws:SecureTransport': 'true' } } }] };
  assert.deepEqual(judge.documentDifferences(a, b), []);
  const c = { Statement: [{ Sid: 'S', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: ['r', 'r2'] }, { Sid: 'X', Effect: 'Allow', Action: 'iam:*', Resource: '*' }] };
  assert.deepEqual(judge.documentDifferences(a, c), [
    'statement S: Action sqs:GetQueueAttributes in the template but not in the account',
    'statement S: Resource r2 in the account but not in the template',
    'statement S: Condition is undefined in the account, {"Bool":{"aws:SecureTransport":["true"]}} in the template',
    'statement X is in the account but not in the template ({"Effect":"Allow","Sid":"X","Action":["iam:*"],"Resource":["*"]})',
  ]);
});

test('judge: IAM documents in the forms IAM and moto answer them', () => {
  const doc = { Version: '2012-10-17', Statement: [{ Sid: 'A', Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::b/*' }] };
  assert.deepEqual(judge.parseDocument(encodeURIComponent(JSON.stringify(doc))), doc);
  assert.deepEqual(judge.parseDocument(JSON.stringify(doc)), doc);
  assert.deepEqual(judge.parseDocument("{'Version': '2012-10-17', 'Statement': [{'Sid': 'A', 'Effect': 'Allow', 'Action': 's3:PutObject', 'Resource': 'arn:aws:s3:::b/*'}]}"), doc);
  assert.deepEqual(judge.parsePythonLiteral("{'a': [True, False, None, 1], 'b': \"it's\", 'c': 'x\\\\y'}"), { a: [true, false, null, 1], b: "it's", c: 'x\\y' });
  assert.throws(() => judge.parseDocument('not a document'), SyntaxError);
});
