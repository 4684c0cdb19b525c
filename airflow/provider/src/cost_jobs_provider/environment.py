"""An Airflow AWS connection's settings as the environment variables any AWS SDK program reads.

`cost-jobs` is a Rust program with the standard AWS configuration, so the connection reaches it
as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_REGION and
AWS_ENDPOINT_URL (plus AWS_ENDPOINT_URL_SQS / _DYNAMODB from the connection's per-service
`service_config`). The values go into the child's environment only: never into its arguments,
a log line or the trigger table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
SERVICE_ENDPOINT_VARIABLES = {"sqs": "AWS_ENDPOINT_URL_SQS", "dynamodb": "AWS_ENDPOINT_URL_DYNAMODB"}


class _FrozenCredentials(Protocol):
    access_key: str
    secret_key: str
    token: str | None


def _mask(value: str) -> None:
    """Register a secret with Airflow's log masker, on whichever path this Airflow has it."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # Airflow 3.0
        from airflow.sdk.execution_time.secrets_masker import mask_secret
    mask_secret(value)


def aws_environ(
    base: Mapping[str, str],
    *,
    credentials: _FrozenCredentials | None,
    region: str | None,
    endpoint_url: str | None,
    service_endpoints: Mapping[str, str],
) -> dict[str, str]:
    """`base` with the connection's settings laid over it.

    Credentials replace all inherited ones as a set, so a worker's stale AWS_SESSION_TOKEN never
    pairs with the connection's keys. Without credentials (no keys in the connection and none the
    session could find) the child keeps the inherited environment and its own default chain.
    """
    env = dict(base)
    if credentials is not None:
        for name in CREDENTIAL_VARIABLES:
            env.pop(name, None)
        env["AWS_ACCESS_KEY_ID"] = credentials.access_key
        env["AWS_SECRET_ACCESS_KEY"] = credentials.secret_key
        if credentials.token:
            env["AWS_SESSION_TOKEN"] = credentials.token
    if region:
        env["AWS_REGION"] = region
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    env.update(service_endpoints)
    return env


@dataclass(frozen=True)
class AwsEnvironment:
    """A resolved connection. `credentials` is botocore's (possibly refreshable) credentials
    object: each `environ()` freezes it anew, so a long wait keeps working past an assumed role's
    expiry."""

    credentials: Any | None
    region: str | None
    endpoint_url: str | None
    service_endpoints: Mapping[str, str] = field(default_factory=dict)

    def environ(self, base: Mapping[str, str]) -> dict[str, str]:
        frozen = self.credentials.get_frozen_credentials() if self.credentials is not None else None
        if frozen is not None:
            _mask(frozen.secret_key)
            if frozen.token:
                _mask(frozen.token)
        return aws_environ(
            base,
            credentials=frozen,
            region=self.region,
            endpoint_url=self.endpoint_url,
            service_endpoints=self.service_endpoints,
        )
