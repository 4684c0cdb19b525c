"""A stand-in for the `aws` command in the deploy rehearsal (scripts/deploy_rehearsal.py).

The README's "Deploy to your AWS account" section uses the AWS CLI, which the machines that run
`make test` need not have (only Python with boto3, from .tools/venv). The rehearsal puts this on
PATH as `aws` and runs the README's commands unchanged against moto:

    aws <service> <operation> [--option value]... [--region R] [--query JMESPATH] [--output json|text]

Operations and options keep the CLI's kebab-case names and are mapped onto boto3 through the
service model (so `secretsmanager create-secret --secret-string` is CreateSecret(SecretString=)),
`file://path` values are read from the file, `--query` is JMESPath and `--output text` prints as
the CLI does. AWS_ENDPOINT_URL and the credentials come from the environment. Only string,
integer and boolean options are supported; anything else fails with a message, never silently.
"""

import json
import os
import sys

import boto3
import jmespath
from botocore import xform_name


def fail(message):
    print(f"aws (rehearsal stand-in): {message}", file=sys.stderr)
    sys.exit(252)


def parse(argv):
    if len(argv) < 2 or argv[0].startswith("-"):
        fail("usage: aws <service> <operation> [--option value]...")
    service, operation, rest = argv[0], argv[1], argv[2:]
    options = {}
    i = 0
    while i < len(rest):
        if not rest[i].startswith("--"):
            fail(f"unexpected argument {rest[i]!r}")
        name = rest[i][2:]
        if i + 1 < len(rest) and not rest[i + 1].startswith("--"):
            options[name] = rest[i + 1]
            i += 2
        else:
            options[name] = True
            i += 1
    return service, operation, options


def text_output(value):
    """The CLI's `--output text`: scalars as they are, a list's scalars tab-separated on one line."""
    if value is None:
        return "None"
    if isinstance(value, list):
        if all(not isinstance(v, (list, dict)) for v in value):
            return "\t".join(text_output(v) for v in value)
        return "\n".join(text_output(v) for v in value)
    if isinstance(value, dict):
        return "\t".join(text_output(v) for v in value.values())
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def main(argv):
    service, operation, options = parse(argv)
    region = options.pop("region", None) or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    query = options.pop("query", None)
    output = options.pop("output", "json")
    client = boto3.client(service, region_name=region)
    op_name = "".join(part.capitalize() for part in operation.split("-"))
    try:
        model = client.meta.service_model.operation_model(op_name)
    except Exception:  # botocore raises OperationNotFoundError
        fail(f"{service} has no operation {operation}")
    members = model.input_shape.members if model.input_shape else {}
    by_cli_name = {k.lower(): k for k in members}
    params = {}
    for name, value in options.items():
        key = by_cli_name.get(name.replace("-", "").lower())
        if key is None:
            fail(f"{service} {operation} has no option --{name}")
        if isinstance(value, str) and value.startswith("file://"):
            with open(value[len("file://"):]) as f:
                value = f.read()
        kind = members[key].type_name
        if kind == "integer":
            value = int(value)
        elif kind == "boolean":
            value = value is True or str(value).lower() == "true"
        elif kind != "string":
            fail(f"--{name} is a {kind}; the stand-in takes string, integer and boolean options only")
        params[key] = value
    try:
        result = getattr(client, xform_name(op_name))(**params)
    except client.exceptions.ClientError as e:
        fail(f"An error occurred ({e.response['Error'].get('Code')}) when calling the {op_name} operation: {e.response['Error'].get('Message')}")
    result.pop("ResponseMetadata", None)
    if query:
        result = jmespath.search(query, result)
    if output == "text":
        print(text_output(result))
    else:
        print(json.dumps(result, indent=4, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
