'use strict';
// CONNECT_CLUSTERS of connect-health (params.default.connectClusters:
// `${file(./sls/connect-clusters.js)}`): the Kafka Connect clusters of a stage, read when
// serverless resolves serverless.yml from config/<stage>/connect-clusters.json and put in the
// function's environment as one line of JSON. Nothing is read at run time: changing the list is a
// deploy. A stage without the file gets '[]' (no cluster: the build guard refuses to deploy it).
// A stage may take the list from SSM instead (params.<stage>.connectClusters:
// `${ssm:/pipeline/<stage>/connect-clusters}`, a String parameter holding the same JSON).
//
// Checked here, so that a typo fails the deploy rather than every run: the file is a JSON array
// of objects with a `name` and an http(s) `url` without credentials, and each `auth_secret_id`
// is under the stage's connectSecretsPrefix (all connect-health's role may read). connect-health
// checks the rest (name characters, unknown fields) when it starts: docs/connect-health.md.

const fs = require('fs');
const path = require('path');
const { paramWhileResolving, throwSentence } = require('./params');

/** The file of a stage, relative to the service directory. */
const fileOf = (stage) => path.join('config', stage, 'connect-clusters.json');

/** The clusters as CONNECT_CLUSTERS, or an Error naming the file and the entry. Pure. */
function clustersValue(text, { file, secretsPrefix }) {
  if (text === null) return '[]';
  let list;
  try {
    list = JSON.parse(text);
  } catch (error) {
    return new Error(`${file} is not JSON (${error.message})`);
  }
  if (!Array.isArray(list)) return new Error(`${file} must hold a JSON array of clusters, e.g. [{"name": "main", "url": "https://connect.internal:8083"}]`);
  for (const [i, entry] of list.entries()) {
    const where = `${file}, entry ${i + 1}`;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return new Error(`${where}: must be an object with "name" and "url"`);
    if (typeof entry.name !== 'string' || !entry.name.trim()) return new Error(`${where}: "name" must be a non-empty string`);
    let url;
    try {
      url = new URL(entry.url);
    } catch {
      return new Error(`${where} (${entry.name}): "url" must be an http(s) URL, got ${JSON.stringify(entry.url)}`);
    }
    if (!['http:', 'https:'].includes(url.protocol)) return new Error(`${where} (${entry.name}): "url" must be http or https, got ${url.protocol}`);
    if (url.username || url.password) {
      return new Error(`${where} (${entry.name}): "url" carries credentials; put them in a secret named by "auth_secret_id" instead`);
    }
    const secret = entry.auth_secret_id;
    // A Secrets Manager secret under the prefix, or an SSM parameter under /<prefix>/ ("ssm:/...").
    if (secret !== undefined && secret !== null && String(secret).trim() !== '' && secretsPrefix
        && !String(secret).startsWith(`${secretsPrefix}/`) && !String(secret).startsWith(`ssm:/${secretsPrefix}/`)) {
      return new Error(
        `${where} (${entry.name}): auth_secret_id ${JSON.stringify(secret)} is not under ${secretsPrefix}/ or ssm:/${secretsPrefix}/ ` +
          '(param connectSecretsPrefix), the only secrets connect-health\'s role may read'
      );
    }
  }
  return JSON.stringify(list);
}

async function connectClusters({ options = {}, resolveVariable, resolveConfigurationProperty }) {
  const stage = await resolveVariable('sls:stage');
  // sls/ sits in the service directory (also in the deploy rehearsal's scratch copy).
  const serviceDir = path.resolve(__dirname, '..');
  const file = fileOf(stage);
  let text = null;
  try {
    text = fs.readFileSync(path.join(serviceDir, file), 'utf8');
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  const secretsPrefix = text === null ? undefined
    : await paramWhileResolving({ options, resolveConfigurationProperty }, stage, 'connectSecretsPrefix');
  const value = clustersValue(text, { file, secretsPrefix });
  if (value instanceof Error) throwSentence(value);
  return value;
}

module.exports = connectClusters;
module.exports.clustersValue = clustersValue;
module.exports.fileOf = fileOf;
