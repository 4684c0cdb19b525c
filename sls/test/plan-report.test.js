'use strict';
// Unit tests of the plan's decisions (sls/plan/report.js): pure, no AWS. Run: node --test sls/test/

const test = require('node:test');
const assert = require('node:assert/strict');
const { withoutCodeNoise, buildPlan, renderPlan } = require('../plan/report');

const clone = (v) => JSON.parse(JSON.stringify(v));

function table(name, key = 'id', extra = {}) {
  return {
    Type: 'AWS::DynamoDB::Table',
    ...extra,
    Properties: {
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
    },
  };
}

function fn(key) {
  return {
    Type: 'AWS::Lambda::Function',
    Properties: {
      FunctionName: 'svc-test-costEtl',
      Handler: 'bootstrap',
      Runtime: 'provided.al2023',
      Code: { S3Bucket: { Ref: 'ServerlessDeploymentBucket' }, S3Key: key },
      Role: { 'Fn::GetAtt': ['Role', 'Arn'] },
    },
  };
}

function role(actions) {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      Policies: [{
        PolicyName: 'p',
        PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: 'arn:aws:s3:::b/costs/*' }] },
      }],
    },
  };
}

const base = {
  Resources: {
    Ledger: table('svc-test-idempotency'),
    CostEtlLambdaFunction: fn('serverless/svc/test/1-old/cost-etl.zip'),
    Role: role(['s3:PutObject']),
  },
};

test('identical templates: no changes, no warnings, and the text says so', () => {
  const plan = buildPlan({ current: base, next: clone(base), stackExists: true });
  assert.equal(plan.changed, false);
  assert.deepEqual(plan.resources, []);
  assert.deepEqual(plan.warnings, []);
  assert.match(renderPlan(plan, { stackName: 's', stage: 'test', region: 'r' }), /No changes\./);
});

test('unchanged code: the new S3 key is packaging noise and is removed', () => {
  const next = clone(base);
  next.Resources.CostEtlLambdaFunction.Properties.Code.S3Key = 'serverless/svc/test/2-new/cost-etl.zip';
  const noisy = buildPlan({ current: base, next, stackExists: true });
  assert.equal(noisy.changed, true, 'without the code check the key looks like a change');
  const clean = withoutCodeNoise(base, next, { CostEtlLambdaFunction: 'unchanged' });
  assert.equal(buildPlan({ current: base, next: clean, stackExists: true }).changed, false);
  assert.equal(next.Resources.CostEtlLambdaFunction.Properties.Code.S3Key, 'serverless/svc/test/2-new/cost-etl.zip', 'input not mutated');
});

test('changed code stays a function update', () => {
  const next = clone(base);
  next.Resources.CostEtlLambdaFunction.Properties.Code.S3Key = 'serverless/svc/test/2-new/cost-etl.zip';
  const clean = withoutCodeNoise(base, next, { CostEtlLambdaFunction: 'changed' });
  const plan = buildPlan({ current: base, next: clean, stackExists: true });
  assert.deepEqual(plan.resources.map((r) => [r.logicalId, r.action]), [['CostEtlLambdaFunction', 'update']]);
  assert.deepEqual(plan.warnings, []);
});

test('a named table whose key changes: replace, FAIL and DATA LOSS', () => {
  const next = clone(base);
  next.Resources.Ledger = table('svc-test-idempotency', 'pk');
  const plan = buildPlan({ current: base, next, stackExists: true });
  const ledger = plan.resources.find((r) => r.logicalId === 'Ledger');
  assert.equal(ledger.action, 'replace');
  assert.ok(ledger.replacingProperties.includes('KeySchema'));
  assert.deepEqual(plan.warnings.map((w) => w.level).sort(), ['DATA LOSS', 'FAIL']);
  const text = renderPlan(plan, { stackName: 's', stage: 'prod', region: 'r' });
  assert.match(text, /FAIL .*explicit TableName "svc-test-idempotency"/);
  assert.match(text, /DATA LOSS .*its items will be lost/);
});

test('a replacement that also renames: DATA LOSS but no FAIL', () => {
  const next = clone(base);
  next.Resources.Ledger = table('svc-test-idempotency-v2', 'pk');
  const plan = buildPlan({ current: base, next, stackExists: true });
  assert.deepEqual(plan.warnings.map((w) => w.level), ['DATA LOSS']);
});

test('a retained table that is removed is orphaned, not lost', () => {
  const current = clone(base);
  current.Resources.Ledger = table('svc-test-idempotency', 'id', { DeletionPolicy: 'Retain' });
  const next = clone(current);
  delete next.Resources.Ledger;
  const plan = buildPlan({ current, next, stackExists: true });
  assert.equal(plan.resources[0].action, 'orphan');
  assert.deepEqual(plan.warnings.map((w) => w.level), ['ORPHAN']);
  assert.match(plan.warnings[0].message, /kept \(DeletionPolicy Retain\)/);
});

test('a retained table that is replaced still loses its data for the stack', () => {
  const current = clone(base);
  current.Resources.Ledger = table('svc-test-idempotency', 'id', { UpdateReplacePolicy: 'Retain' });
  const next = clone(current);
  next.Resources.Ledger = table('svc-test-idempotency-v2', 'pk', { UpdateReplacePolicy: 'Retain' });
  const plan = buildPlan({ current, next, stackExists: true });
  assert.deepEqual(plan.warnings.map((w) => w.level), ['DATA LOSS']);
  assert.match(plan.warnings[0].message, /stay in the old one \(UpdateReplacePolicy Retain\)/);
});

test('deleting a queue without a retain policy: DATA LOSS', () => {
  const current = clone(base);
  current.Resources.Jobs = { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'svc-test-jobs' } };
  const plan = buildPlan({ current, next: clone(base), stackExists: true });
  assert.deepEqual(plan.resources.map((r) => [r.logicalId, r.action]), [['Jobs', 'destroy']]);
  assert.match(plan.warnings[0].message, /deleted: the messages in it will be lost/);
});

test('an added IAM statement broadens permissions; a removed one does not', () => {
  const wider = clone(base);
  wider.Resources.Role.Properties.Policies[0].PolicyDocument.Statement.push(
    { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/costs/*' });
  const plan = buildPlan({ current: base, next: wider, stackExists: true });
  assert.equal(plan.iam.broadened, true);
  assert.deepEqual(plan.warnings.map((w) => w.level), ['IAM']);
  const narrower = buildPlan({ current: wider, next: base, stackExists: true });
  assert.equal(narrower.iam.broadened, false);
  assert.equal(narrower.iam.changed, true);
  assert.deepEqual(narrower.warnings, []);
});

test('a new stack: everything is created, nothing is dangerous', () => {
  const plan = buildPlan({ current: {}, next: clone(base), stackExists: false });
  assert.equal(plan.changed, true);
  assert.ok(plan.resources.every((r) => r.action === 'create'));
  assert.ok(plan.warnings.every((w) => w.level === 'IAM'), 'only the new role counts as broadening');
  assert.match(renderPlan(plan, { stackName: 's', stage: 'test', region: 'r' }), /does not exist yet/);
});

// The VPC params of serverless.yml: template parameters (defaults = stage params) feeding a
// condition. The plan evaluates conditions first (sls/plan/index.js, sls/cfn-eval.js), so a
// change of the params shows as the resources it changes.
function withVpc(subnets, groups) {
  const t = clone(base);
  t.Parameters = { Subnets: { Type: 'String', Default: subnets }, Groups: { Type: 'String', Default: groups } };
  t.Conditions = {
    InVpc: { 'Fn::And': [{ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'Subnets' }, ''] }] }, { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'Groups' }, ''] }] }] },
  };
  t.Resources.CostEtlLambdaFunction.Properties.VpcConfig = {
    'Fn::If': ['InVpc', { SubnetIds: { 'Fn::Split': [',', { Ref: 'Subnets' }] }, SecurityGroupIds: { 'Fn::Split': [',', { Ref: 'Groups' }] } }, { Ref: 'AWS::NoValue' }],
  };
  t.Resources.Role.Properties.ManagedPolicyArns = { 'Fn::If': ['InVpc', [{ Ref: 'VpcAccess' }], { Ref: 'AWS::NoValue' }] };
  t.Resources.VpcAccess = {
    Type: 'AWS::IAM::ManagedPolicy',
    Condition: 'InVpc',
    Properties: { PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'NetworkInterfaces', Effect: 'Allow', Action: ['ec2:CreateNetworkInterface'], Resource: '*' }] } },
  };
  return t;
}

test('VPC params set: the plan shows the function\'s VpcConfig, the role\'s new managed policy and the policy itself (conditions evaluated)', () => {
  const { applyConditions } = require('../cfn-eval');
  const deployed = withVpc('', '');
  const next = withVpc('subnet-0a1b2c3d', 'sg-0a1b2c3d');
  // The stack's parameter values are the old defaults; serverless deploys with the new defaults.
  const plan = buildPlan({ current: applyConditions(deployed, { Subnets: '', Groups: '' }), next: applyConditions(next), stackExists: true });
  const changes = Object.fromEntries(plan.resources.map((r) => [r.logicalId, [r.action, r.properties]]));
  assert.deepEqual(changes, {
    CostEtlLambdaFunction: ['update', ['VpcConfig']],
    Role: ['update', ['ManagedPolicyArns']],
    VpcAccess: ['create', []],
  });
  assert.equal(plan.iam.broadened, true);
  assert.deepEqual(plan.warnings.map((w) => w.level), ['IAM']);
  const text = renderPlan(plan, { stackName: 's', stage: 'prod', region: 'r' });
  assert.match(text, /~  update +AWS::Lambda::Function +CostEtlLambdaFunction +changes: VpcConfig/);
  assert.match(text, /\+  create +AWS::IAM::ManagedPolicy +VpcAccess/);

  // Without evaluating the conditions, the templates differ only in two parameter defaults.
  const raw = buildPlan({ current: deployed, next, stackExists: true });
  assert.deepEqual(raw.resources, [], 'a raw diff would not show a single resource change');
});
