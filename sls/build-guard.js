'use strict';
// Refuses to deploy function zips that are not a release build.
//
// scripts/build.sh records the cargo profile of the zips in target/lambda/build.json. CI builds
// them with the dev profile to check the stack quickly; those zips are unoptimised and several
// times larger, and must never reach AWS by accident. A deploy (or `deploy function`) to AWS
// therefore needs `"profile": "release"`. Deploys to a local endpoint (AWS_ENDPOINT_URL, e.g. the
// deploy rehearsal against moto) are allowed with any profile. A build.json from before the
// profile was recorded counts as release.

const fs = require('fs');
const path = require('path');

class BuildGuard {
  constructor(serverless) {
    this.serverless = serverless;
    const check = () => this.check();
    this.hooks = {
      'before:deploy:deploy': check,
      'before:deploy:function:initialize': check,
    };
  }

  check() {
    if (process.env.AWS_ENDPOINT_URL) return;
    const file = path.join(this.serverless.serviceDir, 'target', 'lambda', 'build.json');
    let build;
    try {
      build = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (error) {
      throw new this.serverless.classes.Error(
        `cannot read ${file} (${error.message}): build the zips with scripts/build.sh before deploying`,
        'BUILD_GUARD_NO_BUILD_INFO'
      );
    }
    const profile = build.profile || 'release';
    if (profile !== 'release') {
      throw new this.serverless.classes.Error(
        `the function zips in target/lambda are a '${profile}' build (LAMBDA_PROFILE=${profile}), not release; ` +
          'run `bash scripts/build.sh` (without LAMBDA_PROFILE) before deploying',
        'BUILD_GUARD_NOT_RELEASE'
      );
    }
  }
}

module.exports = BuildGuard;
