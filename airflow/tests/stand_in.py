"""A stand-in `cost-jobs` for unit tests: an executable script that answers with canned output.

It speaks the CLI's output contract (exit code, JSON summary as the last stdout line, stderr),
not AWS: each call takes the next answer of its plan (the last one repeats) and appends what it
was called with (argv and the AWS variables of its environment) to `calls.jsonl`, so tests can
check both what the provider sent and where it put the credentials.
"""

from __future__ import annotations

import json
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUN_ID = "manual__2026-11-23T06:00:00+00:00"

SCRIPT = """#!{python}
import json, os, sys
from pathlib import Path
here = Path(__file__).resolve().parent
plan = json.loads((here / "plan.json").read_text())
counter = here / "count"
n = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(n + 1))
answer = plan[min(n, len(plan) - 1)]
with (here / "calls.jsonl").open("a") as calls:
    env = {{k: v for k, v in os.environ.items() if k.startswith("AWS_") or k.startswith("COST_JOBS_")}}
    calls.write(json.dumps({{"argv": sys.argv[1:], "env": env}}) + "\\n")
sys.stderr.write(answer["stderr"])
sys.stdout.write(answer["stdout"])
sys.exit(answer["exit"])
"""


@dataclass
class Answer:
    exit: int
    stdout: str = ""
    stderr: str = ""


@dataclass
class StandIn:
    binary: Path

    def calls(self) -> list[dict[str, Any]]:
        path = self.binary.parent / "calls.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]


def make(directory: Path, *answers: Answer) -> StandIn:
    directory.mkdir(parents=True, exist_ok=True)
    binary = directory / "cost-jobs"
    binary.write_text(SCRIPT.format(python=sys.executable))
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    (directory / "plan.json").write_text(
        json.dumps([{"exit": a.exit, "stdout": a.stdout, "stderr": a.stderr} for a in answers])
    )
    return StandIn(binary)


def summary_line(**fields: Any) -> str:
    return json.dumps(fields) + "\n"


def run_status(*, expected: int, done: int, dead: list[dict[str, str]] | None = None, finished: bool) -> str:
    """`wait --json`'s last line, after a progress line as the real CLI may print."""
    return "looking at run\n" + summary_line(
        run_id=RUN_ID, expected=expected, done=done, dead_lettered=dead or [], finished=finished
    )


DEAD_LETTER = {
    "job": "meta/act_1004/2026-11-19..2026-11-22",
    "reason_code": "platform.invalid_credentials",
    "reason": "Meta answered 190: the access token was revoked",
}

DONE = Answer(0, run_status(expected=12, done=12, finished=True))
PENDING = Answer(75, run_status(expected=12, done=5, finished=False))
DEAD = Answer(
    1,
    run_status(expected=12, done=11, dead=[DEAD_LETTER], finished=True),
    "1 job of run dead-lettered:\n  meta/act_1004/2026-11-19..2026-11-22 platform.invalid_credentials\n",
)
AWS_FAILURE = Answer(3, "", "GetItem on pipeline-functions-test-idempotency: AccessDeniedException: not authorized\n")
BAD_ARGUMENTS = Answer(64, "", "error: invalid value 'meat' for '--platform <PLATFORM>'\n")
