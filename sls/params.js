'use strict';
// A stage parameter as serverless's `${param:name}` finds it: the last `--param name=value`, else
// the stage's block of `params:` in serverless.yml, else its `default` block. For the places that
// need a param outside a `${param:...}`: the JS variable files (sls/region.js,
// sls/connect-clusters.js), which run while serverless.yml is being resolved, and the plugins,
// which run after.

/** The value `--param name=value` gives `name` (the last one wins, as in serverless), or undefined. */
function fromCli(list, name) {
  let value;
  for (const item of [].concat(list || [])) {
    const match = String(item).match(/^([^=]+)=(.+)$/);
    if (match && match[1] === name) value = match[2].trimEnd();
  }
  return value;
}

const given = (v) => v !== undefined && v !== null;

/** In a JS variable file: `{ options, resolveConfigurationProperty }` as serverless passes them. */
async function paramWhileResolving({ options = {}, resolveConfigurationProperty }, stage, name) {
  const cli = fromCli(options.param, name);
  if (given(cli)) return cli;
  for (const block of [stage, 'default']) {
    const value = await resolveConfigurationProperty(['params', block, name]);
    if (given(value)) return value;
  }
  return undefined;
}

/** In a plugin, once serverless.yml is resolved. */
function paramOfService(serverless, stage, name) {
  const options = (serverless.processedInput && serverless.processedInput.options) || {};
  const cli = fromCli(options.param, name);
  if (given(cli)) return cli;
  const params = (serverless.configurationInput && serverless.configurationInput.params) || {};
  for (const block of [stage, 'default']) {
    const value = params[block] && params[block][name];
    if (given(value)) return value;
  }
  return undefined;
}

/**
 * Throw an error from a variable source as its sentence alone: serverless prints a failing
 * variable file's error with its stack, which says nothing to the person deploying.
 */
function throwSentence(error) {
  error.stack = error.message;
  throw error;
}

module.exports = { fromCli, paramWhileResolving, paramOfService, throwSentence };
