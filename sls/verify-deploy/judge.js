'use strict';
// The pure half of the deploy verification (sls/verify-deploy/index.js does the AWS calls):
// from the stack's status, the stack events of this deploy and the IAM documents in the account,
// decide whether the deploy took effect, and say what failed, why, and what to do. Also decides
// before a deploy whether it must be forced (the last one failed) or cannot start at all.
// Every rule has a unit test in sls/test/verify-deploy.test.js.

const COMPLETE = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE']);
const FAILED_RESOURCE = /_FAILED$/;
const CANCELLED = /cancel/i;
const PERMISSION = /not authorized|AccessDenied|is not permitted|UnauthorizedOperation|explicit deny/i;

const isStackEvent = (e, stackName) => e.ResourceType === 'AWS::CloudFormation::Stack' && e.LogicalResourceId === stackName;

/**
 * The events of the stack's most recent operation, newest first: from the newest event down to
 * the stack's own *_IN_PROGRESS event that started it ("User Initiated").
 */
function lastOperation(events, stackName) {
  const out = [];
  for (const e of events) {
    out.push(e);
    if (isStackEvent(e, stackName) && /^(CREATE|UPDATE|DELETE|IMPORT)_IN_PROGRESS$/.test(e.ResourceStatus) && e.ResourceStatusReason === 'User Initiated') break;
  }
  return out;
}

/** Resource events that ended in a failure, root causes first ("Resource update cancelled" last). */
function failedResources(events, stackName) {
  const failed = events.filter((e) => FAILED_RESOURCE.test(e.ResourceStatus || '') && !isStackEvent(e, stackName));
  return [...failed.filter((e) => !CANCELLED.test(e.ResourceStatusReason || '')), ...failed.filter((e) => CANCELLED.test(e.ResourceStatusReason || ''))];
}

const describeEvent = (e) => `${e.LogicalResourceId} (${e.ResourceType}) ${e.ResourceStatus}: ${e.ResourceStatusReason || 'no reason given'}`;

/**
 * A stack state no deploy can start from, with what to do; null when a deploy may start.
 * (UPDATE_ROLLBACK_COMPLETE may: it is the state forceReason handles.)
 */
function blockingState(status, { stackName, region }) {
  if (!status) return null;
  if (status === 'ROLLBACK_COMPLETE' || status === 'ROLLBACK_FAILED') {
    return `stack ${stackName} is ${status}: its first creation failed, and CloudFormation cannot update such a stack. ` +
      `Delete it (\`aws cloudformation delete-stack --stack-name ${stackName} --region ${region}\`), fix the cause ` +
      '(`aws cloudformation describe-stack-events` names the failed resource), then deploy again. Resources with ' +
      'DeletionPolicy Retain (prod tables and bucket) survive the deletion and must be removed or renamed first.';
  }
  if (status === 'UPDATE_ROLLBACK_FAILED') {
    return `stack ${stackName} is UPDATE_ROLLBACK_FAILED: a failed update could not be rolled back. Run ` +
      `\`aws cloudformation continue-update-rollback --stack-name ${stackName} --region ${region}\` (with ` +
      '--resources-to-skip for a resource that cannot roll back, e.g. one deleted by hand), wait for ' +
      'UPDATE_ROLLBACK_COMPLETE, then deploy again.';
  }
  if (/_IN_PROGRESS$/.test(status) && status !== 'REVIEW_IN_PROGRESS') {
    return `stack ${stackName} is ${status}: another operation is still running on it. Wait until it ends ` +
      `(\`aws cloudformation describe-stacks --stack-name ${stackName} --region ${region}\`), then deploy again.`;
  }
  return null;
}

/**
 * Why this deploy must go through even if serverless finds nothing new to upload (serverless
 * compares with the files of the last upload, which a failed update leaves behind), or null.
 * @param lastEvents  - lastOperation(...) of the stack before this deploy
 * @param iamProblems - differences between the account's IAM and the template being deployed
 */
function forceReason({ status, lastEvents = [], stackName, iamProblems = [] }) {
  const failures = failedResources(lastEvents, stackName);
  if (status === 'UPDATE_ROLLBACK_COMPLETE') {
    return `the last update of ${stackName} failed and was rolled back` + (failures.length ? ` (${describeEvent(failures[0])})` : '');
  }
  if (failures.length) return `the last operation on ${stackName} left a failed resource (${describeEvent(failures[0])})`;
  if (iamProblems.length) return `IAM in the account differs from this template (${iamProblems[0]})`;
  return null;
}

function adviceFor({ status, failures, stackName, region }) {
  const advice = [];
  const again = 'then run the same `serverless deploy` again: it sees the failed update and forces it ' +
    '(no dummy change needed), even when serverless finds nothing new to upload.';
  if (failures.some((e) => PERMISSION.test(e.ResourceStatusReason || ''))) {
    advice.push('The identity that deploys lacks a permission (named in the reason above). Grant it ' +
      '(docs/deploying.md, "Deployer permissions"), ' + again);
  } else if (/ROLLBACK/.test(status || '')) {
    advice.push(`Fix what the reason above says, ${again}`);
  }
  const blocked = blockingState(status, { stackName, region });
  if (blocked) advice.push(blocked);
  return advice;
}

/**
 * The verdict on a finished deploy.
 * @param status     - the stack's status now
 * @param newEvents  - the stack events of this deploy (newer than the newest one before it), newest first
 * @param skipped    - serverless found nothing to deploy and did not call CloudFormation
 * @param iam        - [{ logicalId, type, physicalId, policy, differences: [...] }] (iamDifferences)
 * @param iamError   - why IAM could not be read or compared, if so
 * @returns { ok, lines: [...], advice: [...], summary }
 */
function verdict({ stackName, region, status, newEvents = [], skipped = false, iam = [], iamError, expectedFiles = {} }) {
  const problems = [];
  const advice = [];
  const failures = failedResources(newEvents, stackName);
  const stackEvents = newEvents.filter((e) => isStackEvent(e, stackName));

  if (!COMPLETE.has(status)) {
    const meaning = /ROLLBACK_COMPLETE$/.test(status || '')
      ? ': the change failed and CloudFormation rolled it back; the previous version is running'
      : /_IN_PROGRESS$/.test(status || '') ? ': CloudFormation has not finished' : '';
    problems.push(`stack ${stackName} is ${status || 'missing'}${meaning}`);
  } else if (stackEvents.length && stackEvents[0].ResourceStatus !== status) {
    problems.push(`the last stack event of this deploy is ${stackEvents[0].ResourceStatus}, not ${status}`);
  }
  for (const e of failures) problems.push(describeEvent(e));
  if (!COMPLETE.has(status) && !failures.length && !newEvents.length) {
    problems.push('no stack event belongs to this deploy: the state above is left from an earlier one');
  }
  advice.push(...adviceFor({ status, failures, stackName, region }));
  if (COMPLETE.has(status) && failures.length) {
    advice.push('The update went through, but the resources above failed (often an old resource that could not be ' +
      'deleted in the clean-up): remove or fix them by hand; CloudFormation no longer manages them.');
  }

  const drifted = iam.filter((x) => x.differences.length);
  for (const x of drifted) {
    for (const d of x.differences) problems.push(`${x.logicalId} (${x.type} ${x.physicalId})${x.policy ? `, policy ${x.policy}` : ''}: ${d}`);
  }
  if (drifted.length && COMPLETE.has(status)) {
    const commands = drifted
      .filter((x) => x.type === 'AWS::IAM::Role' && x.policy && expectedFiles[`${x.logicalId}/${x.policy}`])
      .map((x) => `aws iam put-role-policy --role-name ${x.physicalId} --policy-name ${x.policy} --policy-document file://${expectedFiles[`${x.logicalId}/${x.policy}`]}`);
    advice.push('IAM in the account is not what the template says, although the stack reports success: the update did not ' +
      'apply it, or someone changed it outside CloudFormation (`aws cloudformation detect-stack-drift --stack-name ' +
      `${stackName} --region ${region}\` shows it). A redeploy does not re-apply an unchanged role; put the template's ` +
      'document back' + (commands.length ? `:\n      ${commands.join('\n      ')}` : ' (the template is .serverless/cloudformation-template-update-stack.json).'));
  }
  if (iamError) {
    problems.push(`IAM could not be compared with the template: ${iamError}`);
    advice.push('The check reads the stack\'s roles and policies: the deploying identity needs iam:GetRole, ' +
      'iam:ListRolePolicies, iam:GetRolePolicy, iam:ListAttachedRolePolicies, iam:GetPolicy and iam:GetPolicyVersion ' +
      '(docs/deploying.md, "Deployer permissions").');
  }

  const ok = problems.length === 0;
  const count = (type) => new Set(iam.filter((x) => x.type === type).map((x) => x.logicalId)).size;
  const what = skipped ? 'serverless found nothing new to deploy'
    : newEvents.length ? `${newEvents.length} stack event(s) of this deploy, no failed resource`
      : 'CloudFormation had nothing to update';
  const summary = ok
    ? `verified ${stackName}: ${status} (${what}); IAM as in the template ` +
      `(${count('AWS::IAM::Role')} role(s), ${count('AWS::IAM::ManagedPolicy')} managed policy(ies))`
    : `the deploy of ${stackName} (${region}) did not take effect as the template says`;
  return { ok, problems, advice, summary };
}

/** The error text for a failed verdict. */
function renderFailure(v) {
  const lines = [`${v.summary}:`];
  for (const p of v.problems) lines.push(`  - ${p}`);
  if (v.advice.length) {
    lines.push('What to do:');
    for (const a of v.advice) lines.push(`  - ${a}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- IAM documents

const asList = (v) => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const sortedStrings = (v) => [...new Set(asList(v).map(String))].sort();

function normalizeCondition(condition) {
  const out = {};
  for (const [operator, keys] of Object.entries(condition || {})) {
    out[operator] = {};
    for (const [key, values] of Object.entries(keys || {})) out[operator][key] = sortedStrings(values);
  }
  return out;
}

function normalizePrincipal(principal) {
  if (principal === undefined) return undefined;
  if (typeof principal === 'string') return principal;
  return Object.fromEntries(Object.entries(principal).map(([k, v]) => [k, sortedStrings(v)]));
}

/** A statement in a comparable form: one value or a list alike, lists sorted, condition values as strings. */
function normalizeStatement(st) {
  const out = { Effect: st.Effect };
  if (st.Sid !== undefined) out.Sid = st.Sid;
  if (st.Action !== undefined) out.Action = sortedStrings(st.Action);
  if (st.NotAction !== undefined) out.NotAction = sortedStrings(st.NotAction);
  if (st.Resource !== undefined) out.Resource = sortedStrings(st.Resource);
  if (st.NotResource !== undefined) out.NotResource = sortedStrings(st.NotResource);
  if (st.Principal !== undefined) out.Principal = normalizePrincipal(st.Principal);
  if (st.Condition !== undefined) out.Condition = normalizeCondition(st.Condition);
  return out;
}

/**
 * A Python literal of dicts, lists, strings, numbers, True/False/None. moto 5.2.5 (the deploy
 * rehearsal's emulator) answers GetRolePolicy for a role CloudFormation created with the Python
 * repr of the document instead of JSON; IAM itself never does.
 */
function parsePythonLiteral(text) {
  let i = 0;
  const fail = (what) => {
    throw new SyntaxError(`not a policy document (${what} at ${i})`);
  };
  const space = () => {
    while (i < text.length && /\s/.test(text[i])) i += 1;
  };
  const ESCAPES = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };
  const value = () => {
    space();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      const out = c === '{' ? {} : [];
      i += 1;
      space();
      while (text[i] !== close) {
        if (c === '{') {
          const k = value();
          space();
          if (text[i] !== ':') fail('expected :');
          i += 1;
          out[k] = value();
        } else {
          out.push(value());
        }
        space();
        if (text[i] === ',') i += 1;
        else if (text[i] !== close) fail(`expected , or ${close}`);
        space();
      }
      i += 1;
      return out;
    }
    if (c === "'" || c === '"') {
      let out = '';
      i += 1;
      while (text[i] !== c) {
        if (i >= text.length) fail('unterminated string');
        if (text[i] === '\\') {
          const e = text[i + 1];
          if (e === 'x' || e === 'u') {
            const n = e === 'x' ? 2 : 4;
            out += String.fromCharCode(parseInt(text.slice(i + 2, i + 2 + n), 16));
            i += 2 + n;
            continue;
          }
          out += ESCAPES[e] !== undefined ? ESCAPES[e] : e;
          i += 2;
          continue;
        }
        out += text[i];
        i += 1;
      }
      i += 1;
      return out;
    }
    for (const [word, v] of [['True', true], ['False', false], ['None', null]]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const number = text.slice(i).match(/^-?\d+(\.\d+)?/);
    if (number) {
      i += number[0].length;
      return Number(number[0]);
    }
    return fail('unexpected character');
  };
  const out = value();
  space();
  if (i !== text.length) fail('trailing text');
  return out;
}

/**
 * A policy document as IAM returns it: URL-encoded JSON (the SDK does not decode it), JSON, an
 * object, or (moto only) a Python literal.
 */
function parseDocument(doc) {
  if (doc && typeof doc === 'object') return doc;
  const text = String(doc);
  for (const parse of [JSON.parse, (t) => JSON.parse(decodeURIComponent(t))]) {
    try {
      return parse(text);
    } catch {
      // next form
    }
  }
  return parsePythonLiteral(text);
}

const key = (st, i) => (st.Sid ? `statement ${st.Sid}` : `statement #${i + 1}`);
const show = (v) => JSON.stringify(v);

/** Differences between a template's policy document and IAM's, as sentences ([] when they match). */
function documentDifferences(expected, actual) {
  const want = asList(expected && expected.Statement).map(normalizeStatement);
  const have = asList(actual && actual.Statement).map(normalizeStatement);
  const diffs = [];
  const byKey = (list) => new Map(list.map((st, i) => [key(st, i), st]));
  const wanted = byKey(want);
  const present = byKey(have);
  for (const [k, w] of wanted) {
    const h = present.get(k);
    if (!h) {
      diffs.push(`${k} is missing in the account (template: ${show(w)})`);
      continue;
    }
    for (const field of ['Action', 'NotAction', 'Resource', 'NotResource']) {
      // Actions compare without case (IAM ignores it) but are shown as written.
      const fold = (x) => (field.endsWith('Action') ? x.toLowerCase() : x);
      const a = w[field] || [];
      const b = h[field] || [];
      const missing = a.filter((x) => !b.map(fold).includes(fold(x)));
      const extra = b.filter((x) => !a.map(fold).includes(fold(x)));
      if (missing.length) diffs.push(`${k}: ${field} ${missing.join(', ')} in the template but not in the account`);
      if (extra.length) diffs.push(`${k}: ${field} ${extra.join(', ')} in the account but not in the template`);
    }
    for (const field of ['Effect', 'Principal', 'Condition']) {
      if (show(w[field]) !== show(h[field])) diffs.push(`${k}: ${field} is ${show(h[field])} in the account, ${show(w[field])} in the template`);
    }
  }
  for (const [k, h] of present) {
    if (!wanted.has(k)) diffs.push(`${k} is in the account but not in the template (${show(h)})`);
  }
  return diffs;
}

/**
 * Differences between the template's IAM and the account's.
 * @param expected - { roles: [{ logicalId, physicalId, assume, policies: {name: doc}, managed: [arn] }],
 *                     policies: [{ logicalId, physicalId, document }] } (resolved template values)
 * @param actual   - the same shape as read from IAM (role by physicalId, policy by physicalId)
 * @returns [{ logicalId, type, physicalId, policy, differences }]
 */
function iamDifferences(expected, actual) {
  const out = [];
  for (const role of expected.roles || []) {
    const got = (actual.roles || {})[role.physicalId];
    const entry = (policy, differences) => ({ logicalId: role.logicalId, type: 'AWS::IAM::Role', physicalId: role.physicalId, policy, differences });
    if (!got) {
      out.push(entry(null, ['the role does not exist in the account']));
      continue;
    }
    out.push(entry(null, documentDifferences(role.assume, got.assume).map((d) => `trust policy: ${d}`)));
    for (const [name, doc] of Object.entries(role.policies || {})) {
      out.push(entry(name, name in got.policies ? documentDifferences(doc, got.policies[name]) : ['inline policy missing in the account']));
    }
    for (const name of Object.keys(got.policies || {})) {
      if (!(name in (role.policies || {}))) out.push(entry(name, ['inline policy in the account but not in the template']));
    }
    const wantManaged = sortedStrings(role.managed);
    const haveManaged = sortedStrings(got.managed);
    const differences = [
      ...wantManaged.filter((a) => !haveManaged.includes(a)).map((a) => `managed policy ${a} is not attached in the account`),
      ...haveManaged.filter((a) => !wantManaged.includes(a)).map((a) => `managed policy ${a} is attached in the account but not in the template`),
    ];
    out.push(entry(null, differences));
  }
  for (const policy of expected.policies || []) {
    const got = (actual.policies || {})[policy.physicalId];
    out.push({
      logicalId: policy.logicalId,
      type: 'AWS::IAM::ManagedPolicy',
      physicalId: policy.physicalId,
      policy: null,
      differences: got ? documentDifferences(policy.document, got) : ['the managed policy does not exist in the account'],
    });
  }
  // One entry per role or policy in the summary count, all differences kept.
  const merged = new Map();
  for (const x of out) {
    const k = `${x.logicalId}\0${x.policy || ''}`;
    if (!merged.has(k)) merged.set(k, { ...x, differences: [] });
    merged.get(k).differences.push(...x.differences);
  }
  return [...merged.values()];
}

module.exports = {
  COMPLETE,
  lastOperation,
  failedResources,
  blockingState,
  forceReason,
  verdict,
  renderFailure,
  normalizeStatement,
  parseDocument,
  parsePythonLiteral,
  documentDifferences,
  iamDifferences,
};
