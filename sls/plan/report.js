'use strict';
// The pure half of `serverless plan`: from the deployed template, the packaged template and what
// is known about the functions' code, decide what a deploy would do and what is dangerous.
// No I/O here (sls/plan.js does the AWS calls), so every rule below has a unit test
// (sls/test/plan-report.test.js).

const { fullDiff, ResourceImpact } = require('@aws-cdk/cloudformation-diff');

// Resource types whose physical name the template may fix. CloudFormation replaces a resource by
// creating the new one before deleting the old, so a replacement that keeps the same explicit
// name is rejected ("cannot update a stack when a custom-named resource requires replacing")
// and the stack rolls back.
const NAME_PROPERTY = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::Events::Rule': 'Name',
};

// Resources whose contents a replacement or deletion throws away.
const STATEFUL = {
  'AWS::DynamoDB::Table': 'its items',
  'AWS::SQS::Queue': 'the messages in it',
  'AWS::S3::Bucket': 'its objects (CloudFormation cannot even delete a non-empty bucket)',
};

const ACTION = {
  [ResourceImpact.WILL_CREATE]: 'create',
  [ResourceImpact.WILL_UPDATE]: 'update',
  [ResourceImpact.WILL_REPLACE]: 'replace',
  [ResourceImpact.MAY_REPLACE]: 'may replace',
  [ResourceImpact.WILL_DESTROY]: 'destroy',
  [ResourceImpact.WILL_ORPHAN]: 'orphan',
  [ResourceImpact.WILL_IMPORT]: 'import',
};

const SYMBOL = {
  create: '+',
  update: '~',
  replace: '±',
  'may replace': '±?',
  destroy: '-',
  orphan: '-',
  import: '<',
};

const clone = (value) => JSON.parse(JSON.stringify(value));

/** Logical ids of the Lambda functions (with zip code) in a template. */
function functionCode(template) {
  const out = {};
  for (const [id, r] of Object.entries((template && template.Resources) || {})) {
    if (r.Type === 'AWS::Lambda::Function' && r.Properties && r.Properties.Code && r.Properties.Code.S3Key) {
      out[id] = r.Properties.Code;
    }
  }
  return out;
}

/**
 * Remove packaging noise: serverless puts every package under a new S3 key, so a function's
 * Code.S3Key changes on each package even when its zip did not. Where the code is known to be
 * unchanged, the packaged template gets the deployed Code back. Returns a new template.
 *
 * @param codeStatus - { [logicalId]: 'unchanged' | 'changed' | 'new' | 'unknown' }
 */
function withoutCodeNoise(current, next, codeStatus) {
  const out = clone(next);
  const deployed = functionCode(current);
  for (const [id, status] of Object.entries(codeStatus)) {
    if (status === 'unchanged' && deployed[id] && out.Resources[id]) {
      out.Resources[id].Properties.Code = clone(deployed[id]);
    }
  }
  return out;
}

function explicitName(resource, type) {
  const prop = NAME_PROPERTY[type];
  const props = (resource && resource.Properties) || {};
  return prop && props[prop] !== undefined ? { prop, value: props[prop] } : null;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Build the plan.
 *
 * @param current   - deployed template ({} when the stack does not exist)
 * @param next      - packaged template, code noise already removed (withoutCodeNoise)
 * @param code      - [{ name, logicalId, status, detail }] per function
 * @param changeSet - optional DescribeChangeSet output (real AWS) for AWS's own replacement answer
 */
function buildPlan({ current, next, code = [], changeSet, stackExists }) {
  const diff = fullDiff(current || {}, next, changeSet);
  const resources = [];
  const warnings = [];

  diff.resources.forEachDifference((logicalId, change) => {
    if (!change.isDifferent) return;
    const type = change.newResourceType || change.oldResourceType;
    const action = ACTION[change.changeImpact] || 'update';
    const properties = Object.keys(change.propertyUpdates);
    const replacingProperties = Object.entries(change.propertyUpdates)
      .filter(([, d]) => d.changeImpact === ResourceImpact.WILL_REPLACE || d.changeImpact === ResourceImpact.MAY_REPLACE)
      .map(([name, d]) => (d.changeImpact === ResourceImpact.MAY_REPLACE ? `${name} (may)` : name));
    const others = Object.keys(change.otherChanges);
    resources.push({ logicalId, type, action, properties, replacingProperties, otherChanges: others });

    const replaced = action === 'replace' || action === 'may replace';
    if (replaced) {
      const oldName = explicitName(change.oldValue, type);
      const newName = explicitName(change.newValue, type);
      if (oldName && newName && same(oldName.value, newName.value)) {
        const maybe = action === 'may replace' ? ' if the change needs a replacement' : '';
        warnings.push({
          level: 'FAIL',
          logicalId,
          message:
            `${type} ${logicalId} would be replaced (${replacingProperties.join(', ') || 'type change'}) but keeps its ` +
            `explicit ${oldName.prop} ${JSON.stringify(oldName.value)}: CloudFormation will reject the update${maybe} ` +
            'and roll back. Change the name together with the replacing property, or move the data to a new resource first.',
        });
      }
    }
    const stateful = STATEFUL[type];
    const old = change.oldValue || {};
    if (stateful && replaced) {
      const kept = ['Retain', 'RetainExceptOnCreate', 'Snapshot'].includes(old.UpdateReplacePolicy);
      warnings.push({
        level: 'DATA LOSS',
        logicalId,
        message: `${type} ${logicalId} will be replaced by a new, empty one: ${stateful} ` +
          (kept ? `stay in the old one (UpdateReplacePolicy ${old.UpdateReplacePolicy}), which the stack no longer uses; move them by hand.`
            : 'will be lost.'),
      });
    } else if (stateful && action === 'destroy') {
      warnings.push({ level: 'DATA LOSS', logicalId, message: `${type} ${logicalId} will be deleted: ${stateful} will be lost.` });
    } else if (action === 'orphan') {
      warnings.push({
        level: 'ORPHAN',
        logicalId,
        message: `${type} ${logicalId} leaves the stack but is kept (DeletionPolicy ${old.DeletionPolicy}); ` +
          'it is no longer managed (nor alarmed) and still costs money: delete it by hand when done.',
      });
    }
  });

  const iam = {
    broadened: diff.permissionsBroadened,
    changed: diff.permissionsAnyChanges,
    statements: diff.iamChanges.summarizeStatements(),
    managedPolicies: diff.iamChanges.summarizeManagedPolicies(),
  };
  if (iam.broadened) {
    const added = iam.statements.slice(1).filter((row) => String(row[0]).includes('+')).length;
    warnings.push({
      level: 'IAM',
      logicalId: '-',
      message: `permissions broaden (${added} statement(s) or managed policies added): review the IAM table before deploying.`,
    });
  }

  const sections = ['outputs', 'parameters', 'conditions', 'mappings', 'metadata', 'unknown'];
  const other = {};
  for (const s of sections) {
    const ids = diff[s] ? diff[s].logicalIds : [];
    if (ids.length) other[s] = ids;
  }

  const changed = !diff.isEmpty;
  return { stackExists: Boolean(stackExists), changed, code, resources, warnings, iam, other, diff };
}

function pad(s, n) {
  s = String(s);
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** The readable plan (plain text, no colours: it is also read in CI logs). */
function renderPlan(plan, { stackName, stage, region }) {
  const lines = [];
  lines.push(`Plan for stack ${stackName} (stage ${stage}, region ${region})`);
  if (!plan.stackExists) lines.push('The stack does not exist yet: everything below will be created.');
  lines.push('');
  if (plan.code.length) {
    lines.push('Function code:');
    for (const c of plan.code) {
      lines.push(`  ${pad(c.name, 16)} ${pad(c.status === 'unchanged' ? 'code unchanged' : c.status === 'changed' ? 'code changed' : c.status === 'new' ? 'new function' : 'code unknown', 15)} ${c.detail || ''}`.trimEnd());
    }
    lines.push('');
  }
  if (!plan.changed) {
    lines.push('No changes. The deployed stack matches this configuration.');
    return lines.join('\n');
  }
  if (plan.resources.length) {
    lines.push('Resources:');
    for (const r of plan.resources) {
      let detail = '';
      if (r.replacingProperties.length) detail = `  replaced because of: ${r.replacingProperties.join(', ')}`;
      else if (r.properties.length) detail = `  changes: ${r.properties.join(', ')}`;
      if (r.otherChanges.length) detail += `${detail ? ';' : ' '} ${r.otherChanges.join(', ')}`;
      lines.push(`  ${pad(SYMBOL[r.action] || '~', 3)}${pad(r.action, 12)} ${pad(r.type, 30)} ${r.logicalId}${detail}`);
    }
    lines.push('');
  }
  for (const [section, ids] of Object.entries(plan.other)) {
    lines.push(`${section[0].toUpperCase()}${section.slice(1)} changed: ${ids.join(', ')}`);
  }
  if (Object.keys(plan.other).length) lines.push('');
  if (plan.iam.changed) {
    lines.push(`IAM changes${plan.iam.broadened ? ' (permissions BROADEN)' : ''}:`);
    for (const table of [plan.iam.statements, plan.iam.managedPolicies]) {
      if (table.length <= 1) continue;
      // Cells may hold several lines (one per action) and, on a terminal, colour codes.
      const cells = table.map((row) => row.map((cell) => String(cell).replace(/\x1b\[[0-9;]*m/g, '').replace(/\n/g, ', ')));
      const widths = cells[0].map((_, i) => Math.min(70, Math.max(...cells.map((row) => row[i].length))));
      for (const row of cells) lines.push('  ' + row.map((cell, i) => pad(cell, widths[i])).join('  ').trimEnd());
    }
    lines.push('');
  }
  if (plan.warnings.length) {
    lines.push('Warnings:');
    for (const w of plan.warnings) lines.push(`  ${pad(w.level, 10)} ${w.message}`);
    lines.push('');
  } else {
    lines.push('Warnings: none');
    lines.push('');
  }
  const counts = {};
  for (const r of plan.resources) counts[r.action] = (counts[r.action] || 0) + 1;
  const summary = Object.entries(counts).map(([a, n]) => `${n} to ${a}`).join(', ') || 'template-level changes only';
  lines.push(`Plan: ${summary}.`);
  return lines.join('\n');
}

/** A JSON-friendly copy of the plan (without the diff engine's objects). */
function planJson(plan) {
  const { diff, ...rest } = plan;
  return rest;
}

module.exports = { NAME_PROPERTY, STATEFUL, withoutCodeNoise, functionCode, buildPlan, renderPlan, planJson };
