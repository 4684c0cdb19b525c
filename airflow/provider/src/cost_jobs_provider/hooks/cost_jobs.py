"""Runs `cost-jobs` with the AWS settings of an Airflow AWS connection.

The connection is read through the Amazon provider's `AwsBaseHook` (keys, assumed roles, region,
`endpoint_url` extra), turned into the child's environment (`environment.py`) and the command
run synchronously (operator, sensor) or with asyncio (trigger). Logged: the command line, which
holds no secret, and the CLI's stderr.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Mapping, Sequence
from functools import cached_property

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

from cost_jobs_provider.cli import CommandResult, find_binary
from cost_jobs_provider.environment import SERVICE_ENDPOINT_VARIABLES, AwsEnvironment


class CostJobsHook(AwsBaseHook):
    """`cost-jobs` as a hook.

    :param aws_conn_id: Airflow AWS connection (type `aws`); None uses the worker's default AWS chain.
    :param region_name: overrides the connection's region.
    :param cost_jobs_binary: path of the executable; default $COST_JOBS_BINARY, then PATH.
    """

    hook_name = "cost-jobs (AWS)"

    def __init__(
        self,
        *,
        aws_conn_id: str | None = AwsBaseHook.default_conn_name,
        region_name: str | None = None,
        cost_jobs_binary: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(aws_conn_id=aws_conn_id, region_name=region_name, **kwargs)
        self.cost_jobs_binary = cost_jobs_binary

    @cached_property
    def binary(self) -> str:
        return find_binary(self.cost_jobs_binary)

    def aws_environment(self) -> AwsEnvironment:
        """Resolve the connection (blocking: it may read a secrets backend or assume a role)."""
        session = self.get_session(region_name=self.region_name)
        connection = self.conn_config
        service_endpoints = {}
        for service, variable in SERVICE_ENDPOINT_VARIABLES.items():
            url = connection.get_service_config(service).get("endpoint_url")
            if url:
                service_endpoints[variable] = url
        return AwsEnvironment(
            credentials=session.get_credentials(),
            region=self.region_name or session.region_name,
            endpoint_url=connection.endpoint_url,
            service_endpoints=service_endpoints,
        )

    def run(self, argv: Sequence[str], *, timeout: float | None = None) -> CommandResult:
        env = self.aws_environment().environ(os.environ)
        return run_command(argv, env, timeout=timeout, log=self.log)


def _result(argv: Sequence[str], returncode: int, stdout: bytes | str, stderr: bytes | str) -> CommandResult:
    def text(value: bytes | str) -> str:
        return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value

    return CommandResult(tuple(argv), returncode, text(stdout), text(stderr))


def _log_result(log, result: CommandResult) -> None:
    for line in result.stderr.splitlines():
        if line.strip():
            log.info("cost-jobs: %s", line)
    log.info("`%s` exited %d", result.command, result.returncode)


def run_command(argv: Sequence[str], env: Mapping[str, str], *, timeout: float | None, log) -> CommandResult:
    """Run to completion; a command still running after `timeout` seconds is killed and reported
    as such (exit -9). An exception in the caller (task killed, execution_timeout) kills it too."""
    log.info("Running `%s`", _result(argv, 0, "", "").command)
    try:
        completed = subprocess.run(
            list(argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        result = _result(argv, completed.returncode, completed.stdout, completed.stderr)
    except subprocess.TimeoutExpired as e:
        stderr = (e.stderr or b"") + f"\nno answer within {timeout:g} s; killed".encode()
        result = _result(argv, -9, e.stdout or b"", stderr)
    _log_result(log, result)
    return result


async def run_command_async(
    argv: Sequence[str], env: Mapping[str, str], *, timeout: float | None, log
) -> CommandResult:
    """`run_command` for the triggerer's event loop; cancelling the caller kills the command."""
    log.info("Running `%s`", _result(argv, 0, "", "").command)
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
        result = _result(argv, process.returncode if process.returncode is not None else -1, stdout, stderr)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        result = _result(argv, -9, b"", f"no answer within {timeout:g} s; killed")
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    _log_result(log, result)
    return result
