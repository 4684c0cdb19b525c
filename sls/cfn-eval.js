'use strict';
// CloudFormation's own evaluation of a template, for the plugins that compare a template with
// what is deployed. `applyConditions` does what CloudFormation does with Conditions: resources
// and outputs whose condition is false are left out, `Fn::If` takes its branch and
// `AWS::NoValue` disappears, so two templates that differ only in a condition's inputs (e.g. the
// VPC stage params) compare as the stacks they make (sls/plan). `resolve` turns the remaining
// intrinsic functions into the values CloudFormation gives them in a deployed stack (physical
// ids, ARNs), so a policy in the template can be compared with the one in IAM
// (sls/verify-deploy). Pure: the callers fetch parameter values and physical ids.

/** A value this module cannot compute (a missing resource, an unsupported function). */
class Unresolvable extends Error {}

const NO_VALUE = Symbol('AWS::NoValue');
const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

function onlyKey(value) {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const keys = Object.keys(value);
  return keys.length === 1 ? keys[0] : null;
}

/** Parameter values of a deploy: the given ones (e.g. a stack's Parameters), else each Default. */
function parameterValues(template, given = {}) {
  const out = {};
  for (const [name, p] of Object.entries((template && template.Parameters) || {})) {
    if (given[name] !== undefined) out[name] = String(given[name]);
    else if (p && p.Default !== undefined) out[name] = String(p.Default);
  }
  return out;
}

/**
 * Every condition of the template, true or false.
 * @param params - parameter name -> value (parameterValues)
 * @param pseudo - pseudo parameter -> value (AWS::Region, ...), for conditions that use them
 */
function evaluateConditions(template, params = {}, pseudo = {}) {
  const defs = (template && template.Conditions) || {};
  const done = {};
  const visiting = new Set();

  const scalar = (expr) => {
    const fn = onlyKey(expr);
    if (fn === 'Ref') {
      if (expr.Ref in params) return params[expr.Ref];
      if (expr.Ref in pseudo) return pseudo[expr.Ref];
      throw new Unresolvable(`a condition refers to ${expr.Ref}, which has no value`);
    }
    if (fn === 'Fn::Join') {
      const [delimiter, list] = expr[fn];
      return list.map(scalar).join(delimiter);
    }
    if (fn) throw new Unresolvable(`${fn} inside a condition is not supported here`);
    return typeof expr === 'object' ? JSON.stringify(expr) : String(expr);
  };

  const evaluate = (expr) => {
    const fn = onlyKey(expr);
    const args = fn && expr[fn];
    switch (fn) {
      case 'Fn::Equals':
        return scalar(args[0]) === scalar(args[1]);
      case 'Fn::Not':
        return !evaluate(args[0]);
      case 'Fn::And':
        return args.every(evaluate);
      case 'Fn::Or':
        return args.some(evaluate);
      case 'Condition':
        return named(args);
      default:
        throw new Unresolvable(`unsupported condition expression ${JSON.stringify(expr)}`);
    }
  };

  const named = (name) => {
    if (name in done) return done[name];
    if (!(name in defs)) throw new Unresolvable(`condition ${name} is not defined`);
    if (visiting.has(name)) throw new Unresolvable(`condition ${name} refers to itself`);
    visiting.add(name);
    done[name] = evaluate(defs[name]);
    visiting.delete(name);
    return done[name];
  };

  for (const name of Object.keys(defs)) named(name);
  return done;
}

/**
 * The template as CloudFormation deploys it with these parameter values: resources and outputs
 * whose Condition is false removed, `Fn::If` replaced by its branch, `AWS::NoValue` removed, the
 * Conditions section and the resources' Condition attributes gone. Returns a new template.
 */
function applyConditions(template, given = {}, pseudo = {}) {
  if (!template || typeof template !== 'object') return {};
  const conditions = evaluateConditions(template, parameterValues(template, given), pseudo);
  const isTrue = (name) => {
    if (!(name in conditions)) throw new Unresolvable(`condition ${name} is not defined`);
    return conditions[name];
  };
  const walk = (value) => {
    if (Array.isArray(value)) return value.map(walk).filter((v) => v !== NO_VALUE);
    const fn = onlyKey(value);
    if (fn === 'Fn::If') {
      const [name, whenTrue, whenFalse] = value[fn];
      return walk(isTrue(name) ? whenTrue : whenFalse);
    }
    if (fn === 'Ref' && value.Ref === 'AWS::NoValue') return NO_VALUE;
    if (value && typeof value === 'object') {
      const out = {};
      for (const [k, v] of Object.entries(value)) {
        const w = walk(v);
        if (w !== NO_VALUE) out[k] = w;
      }
      return out;
    }
    return value;
  };

  const out = clone(template);
  delete out.Conditions;
  for (const section of ['Resources', 'Outputs']) {
    if (!out[section]) continue;
    for (const [id, item] of Object.entries(out[section])) {
      if (item && item.Condition !== undefined && !isTrue(item.Condition)) {
        delete out[section][id];
        continue;
      }
      const applied = walk(item);
      delete applied.Condition;
      out[section][id] = applied;
    }
  }
  return out;
}

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` (or an emulator's URL) -> [account, name]. */
function queueUrlParts(url) {
  const parts = String(url).replace(/\/+$/, '').split('/');
  if (parts.length < 2) throw new Unresolvable(`${url} is not a queue URL`);
  return parts.slice(-2);
}

// Fn::GetAtt of the resource types this project's policies name, as CloudFormation computes
// them from the physical id. A log group's Arn ends with ':*' on AWS (ctx.logGroupArnSuffix
// says otherwise for an emulator that leaves it out).
const GETATT = {
  'AWS::SQS::Queue': {
    Arn: (url, c) => {
      const [account, name] = queueUrlParts(url);
      return `arn:${c.partition}:sqs:${c.region}:${account}:${name}`;
    },
    QueueName: (url) => queueUrlParts(url)[1],
    QueueUrl: (url) => url,
  },
  'AWS::DynamoDB::Table': { Arn: (name, c) => `arn:${c.partition}:dynamodb:${c.region}:${c.accountId}:table/${name}` },
  'AWS::Logs::LogGroup': {
    Arn: (name, c) => `arn:${c.partition}:logs:${c.region}:${c.accountId}:log-group:${name}${c.logGroupArnSuffix === undefined ? ':*' : c.logGroupArnSuffix}`,
  },
  'AWS::S3::Bucket': { Arn: (name, c) => `arn:${c.partition}:s3:::${name}` },
  'AWS::Lambda::Function': { Arn: (name, c) => `arn:${c.partition}:lambda:${c.region}:${c.accountId}:function:${name}` },
  'AWS::SNS::Topic': { TopicArn: (arn) => arn, TopicName: (arn) => String(arn).split(':').pop() },
  // The roles of this stack have no Path, so their ARN is role/<name>.
  'AWS::IAM::Role': { Arn: (name, c) => `arn:${c.partition}:iam::${c.accountId}:role/${name}` },
  'AWS::IAM::ManagedPolicy': { PolicyArn: (arn) => arn },
};

/** The context `resolve` needs, from a stack's ARN and its resources. */
function stackContext({ stackId, stackName, parameters = {}, resources = {}, logGroupArnSuffix }) {
  // arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>
  const [, partition, , region, accountId] = String(stackId).split(':');
  if (!partition || !region || !accountId) throw new Unresolvable(`${stackId} is not a stack ARN`);
  return {
    partition,
    region,
    accountId,
    stackId,
    stackName,
    urlSuffix: partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
    parameters,
    resources,
    logGroupArnSuffix,
  };
}

function pseudoParameters(ctx) {
  return {
    'AWS::Partition': ctx.partition,
    'AWS::Region': ctx.region,
    'AWS::AccountId': ctx.accountId,
    'AWS::StackName': ctx.stackName,
    'AWS::StackId': ctx.stackId,
    'AWS::URLSuffix': ctx.urlSuffix,
  };
}

function ref(name, ctx) {
  const pseudo = pseudoParameters(ctx);
  if (name in pseudo) return pseudo[name];
  if (ctx.parameters && name in ctx.parameters) return ctx.parameters[name];
  const resource = ctx.resources[name];
  if (resource && resource.physicalId) return resource.physicalId;
  throw new Unresolvable(`Ref ${name}: no such parameter or resource in the stack`);
}

function getAtt(logicalId, attribute, ctx) {
  const resource = ctx.resources[logicalId];
  if (!resource || !resource.physicalId) throw new Unresolvable(`GetAtt ${logicalId}.${attribute}: ${logicalId} is not in the stack`);
  const rule = GETATT[resource.type] && GETATT[resource.type][attribute];
  if (!rule) throw new Unresolvable(`GetAtt ${logicalId}.${attribute} (${resource.type}) is not known to sls/cfn-eval.js`);
  return rule(resource.physicalId, ctx);
}

/**
 * A template value with its intrinsic functions computed for the deployed stack `ctx`
 * (stackContext). Apply conditions first: `Fn::If` is not expected here.
 */
function resolve(value, ctx) {
  if (Array.isArray(value)) return value.map((v) => resolve(v, ctx));
  const fn = onlyKey(value);
  if (fn === 'Ref') return ref(value.Ref, ctx);
  if (fn && fn.startsWith('Fn::')) {
    const args = value[fn];
    switch (fn) {
      case 'Fn::GetAtt': {
        const [logicalId, ...attribute] = Array.isArray(args) ? args : String(args).split('.');
        return getAtt(logicalId, attribute.join('.'), ctx);
      }
      case 'Fn::Sub': {
        const [text, vars = {}] = Array.isArray(args) ? args : [args];
        return String(text).replace(/\$\{([^}]*)\}/g, (_, name) => {
          if (name.startsWith('!')) return `\${${name.slice(1)}}`;
          if (name in vars) return String(resolve(vars[name], ctx));
          const dot = name.indexOf('.');
          if (dot > 0 && !name.startsWith('AWS::')) return String(getAtt(name.slice(0, dot), name.slice(dot + 1), ctx));
          return String(ref(name, ctx));
        });
      }
      case 'Fn::Join':
        return resolve(args[1], ctx).join(args[0]);
      case 'Fn::Split':
        return String(resolve(args[1], ctx)).split(args[0]);
      case 'Fn::Select':
        return resolve(args[1], ctx)[Number(resolve(args[0], ctx))];
      default:
        throw new Unresolvable(`${fn} is not supported by sls/cfn-eval.js`);
    }
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, ctx)]));
  }
  return value;
}

module.exports = {
  Unresolvable,
  parameterValues,
  evaluateConditions,
  applyConditions,
  stackContext,
  pseudoParameters,
  resolve,
  GETATT,
};
