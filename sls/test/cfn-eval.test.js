'use strict';
// sls/cfn-eval.js: CloudFormation's conditions and intrinsic functions, evaluated as a deployed
// stack has them. Run: node --test sls/test/cfn-eval.test.js

const test = require('node:test');
const assert = require('node:assert/strict');
const { applyConditions, evaluateConditions, parameterValues, resolve, stackContext, Unresolvable } = require('../cfn-eval');

// The shape serverless.yml uses for the VPC params (template parameters defaulting to stage params).
function vpcTemplate(subnets = '', groups = '') {
  return {
    Parameters: {
      Subnets: { Type: 'String', Default: subnets },
      Groups: { Type: 'String', Default: groups },
    },
    Conditions: {
      InVpc: { 'Fn::And': [{ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'Subnets' }, ''] }] }, { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'Groups' }, ''] }] }] },
      Any: { 'Fn::Or': [{ Condition: 'InVpc' }, { 'Fn::Equals': ['a', 'b'] }] },
    },
    Resources: {
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          VpcConfig: {
            'Fn::If': ['InVpc', { SubnetIds: { 'Fn::Split': [',', { Ref: 'Subnets' }] }, SecurityGroupIds: { 'Fn::Split': [',', { Ref: 'Groups' }] } }, { Ref: 'AWS::NoValue' }],
          },
        },
      },
      Role: {
        Type: 'AWS::IAM::Role',
        Properties: { ManagedPolicyArns: { 'Fn::If': ['InVpc', [{ Ref: 'VpcPolicy' }], { Ref: 'AWS::NoValue' }] }, Policies: [] },
      },
      VpcPolicy: { Type: 'AWS::IAM::ManagedPolicy', Condition: 'Any', Properties: {} },
    },
    Outputs: { Policy: { Condition: 'Any', Value: { Ref: 'VpcPolicy' } } },
  };
}

test('conditions follow the parameter defaults, or the values given (a stack\'s Parameters)', () => {
  const t = vpcTemplate('subnet-1', 'sg-1');
  assert.deepEqual(evaluateConditions(t, parameterValues(t)), { InVpc: true, Any: true });
  assert.deepEqual(evaluateConditions(t, parameterValues(t, { Groups: '' })), { InVpc: false, Any: false });
});

test('applyConditions: false conditions leave resources and outputs out, Fn::If takes its branch, NoValue disappears', () => {
  const out = applyConditions(vpcTemplate());
  assert.deepEqual(Object.keys(out.Resources).sort(), ['Fn', 'Role']);
  assert.deepEqual(out.Resources.Fn.Properties, {});
  assert.deepEqual(out.Resources.Role.Properties, { Policies: [] });
  assert.deepEqual(out.Outputs, {});
  assert.equal(out.Conditions, undefined);

  const inVpc = applyConditions(vpcTemplate('subnet-1,subnet-2', 'sg-1'));
  assert.deepEqual(inVpc.Resources.Role.Properties.ManagedPolicyArns, [{ Ref: 'VpcPolicy' }]);
  assert.equal(inVpc.Resources.VpcPolicy.Condition, undefined);
  assert.deepEqual(inVpc.Resources.Fn.Properties.VpcConfig.SubnetIds, { 'Fn::Split': [',', { Ref: 'Subnets' }] });
});

test('an unknown condition or a parameter without a value is Unresolvable, not a silent false', () => {
  const t = vpcTemplate('subnet-1');
  delete t.Parameters.Groups;
  assert.throws(() => applyConditions(t), Unresolvable);
  assert.throws(() => applyConditions({ Resources: { X: { Condition: 'Nope', Type: 'T' } } }), Unresolvable);
});

const ctx = stackContext({
  stackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/svc-prod/abc',
  stackName: 'svc-prod',
  parameters: { Subnets: 'subnet-1,subnet-2' },
  resources: {
    Jobs: { type: 'AWS::SQS::Queue', physicalId: 'https://sqs.eu-west-1.amazonaws.com/123456789012/svc-prod-jobs' },
    Ledger: { type: 'AWS::DynamoDB::Table', physicalId: 'svc-prod-idempotency' },
    Logs: { type: 'AWS::Logs::LogGroup', physicalId: '/aws/lambda/svc-prod-costEtl' },
    Bucket: { type: 'AWS::S3::Bucket', physicalId: 'svc-prod-costs' },
  },
});

test('resolve: Ref, GetAtt (ARN per resource type), Sub with ${X.Arn} and ${!literal}, Split/Join/Select', () => {
  assert.equal(resolve({ 'Fn::GetAtt': ['Jobs', 'Arn'] }, ctx), 'arn:aws:sqs:eu-west-1:123456789012:svc-prod-jobs');
  assert.equal(resolve({ 'Fn::GetAtt': 'Ledger.Arn' }, ctx), 'arn:aws:dynamodb:eu-west-1:123456789012:table/svc-prod-idempotency');
  assert.equal(resolve({ 'Fn::GetAtt': ['Logs', 'Arn'] }, ctx), 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/svc-prod-costEtl:*');
  assert.equal(resolve({ 'Fn::Sub': '${Bucket.Arn}/costs/*' }, ctx), 'arn:aws:s3:::svc-prod-costs/costs/*');
  assert.equal(resolve({ 'Fn::Sub': 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:p/*' }, ctx),
    'arn:aws:secretsmanager:eu-west-1:123456789012:secret:p/*');
  assert.equal(resolve({ 'Fn::Sub': ['${Q} ${!LABEL}', { Q: { Ref: 'Ledger' } }] }, ctx), 'svc-prod-idempotency ${LABEL}');
  assert.deepEqual(resolve({ 'Fn::Split': [',', { Ref: 'Subnets' }] }, ctx), ['subnet-1', 'subnet-2']);
  assert.equal(resolve({ 'Fn::Select': [1, { 'Fn::Split': [',', { Ref: 'Subnets' }] }] }, ctx), 'subnet-2');
  assert.equal(resolve({ 'Fn::Join': ['-', ['a', { Ref: 'AWS::StackName' }]] }, ctx), 'a-svc-prod');
  // Not intrinsic functions: statement keys are kept as they are.
  assert.deepEqual(resolve({ Condition: { StringEquals: { 'cloudwatch:namespace': 'K' } } }, ctx), { Condition: { StringEquals: { 'cloudwatch:namespace': 'K' } } });
});

test('resolve: an emulator\'s log group ARN suffix; a resource not in the stack or an unknown attribute is Unresolvable', () => {
  const moto = { ...ctx, logGroupArnSuffix: '' };
  assert.equal(resolve({ 'Fn::GetAtt': ['Logs', 'Arn'] }, moto), 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/svc-prod-costEtl');
  assert.throws(() => resolve({ 'Fn::GetAtt': ['Missing', 'Arn'] }, ctx), /Missing is not in the stack/);
  assert.throws(() => resolve({ 'Fn::GetAtt': ['Ledger', 'StreamArn'] }, ctx), Unresolvable);
  assert.throws(() => resolve({ 'Fn::ImportValue': 'x' }, ctx), Unresolvable);
});
