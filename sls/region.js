'use strict';
// provider.region of serverless.yml (`region: ${file(./sls/region.js)}`). A deploy never lands in
// a region by default: the region is `--region`, else the stage's `region` param
// (params.<stage>.region, or `--param region=...`). A default applies only where no AWS account
// is involved: stage `local` (`make run`) and commands pointed at a local emulator
// (AWS_ENDPOINT_URL: moto in the tests, the deploy rehearsal), which take AWS_REGION,
// AWS_DEFAULT_REGION or us-east-1. Anything else stops serverless with a sentence saying what to
// set, before it reads credentials or packages anything.

const { paramWhileResolving, throwSentence } = require('./params');

const LOCAL_STAGE = 'local';

/** The region, or an Error saying what to set. Pure. */
function chooseRegion({ option, stageParam, stage, env = {} }) {
  if (option) return String(option);
  if (stageParam) return String(stageParam);
  if (stage === LOCAL_STAGE || env.AWS_ENDPOINT_URL) return env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  return new Error(
    `no AWS region for stage '${stage}': pass --region <region> (e.g. --region eu-west-1) or set ` +
      `params.${stage}.region in serverless.yml. A deploy never falls back to a default region ` +
      '(README, "Deploy to your AWS account").'
  );
}

async function region({ options = {}, resolveVariable, resolveConfigurationProperty }) {
  const stage = await resolveVariable('sls:stage');
  const stageParam = await paramWhileResolving({ options, resolveConfigurationProperty }, stage, 'region');
  const chosen = chooseRegion({ option: options.region, stageParam, stage, env: process.env });
  if (chosen instanceof Error) throwSentence(chosen);
  return chosen;
}

module.exports = region;
module.exports.chooseRegion = chooseRegion;
