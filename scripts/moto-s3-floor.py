#!/usr/bin/env python3
"""How long moto_server alone takes for the S3 writes of the cost-etl bench's 31-day Meta batch.

    .tools/venv/bin/python scripts/moto-s3-floor.py [PUTS] [THREADS]

310 PUTs (10 jobs x 31 days) of 9.5 KB (50 campaign rows of ~190 B), 80 at once (10 jobs x the
sink's 8), from boto3, once with request checksums (the SDKs' default) and once without, against
a fresh moto_server on 127.0.0.1. The part of the bench's batch time that is this machine's local
S3, not the function (docs/cost-etl.md#bench).
"""
import concurrent.futures
import os
import re
import subprocess
import sys
import threading
import time

import boto3
from botocore.config import Config


def start_moto() -> tuple[subprocess.Popen, int]:
    """moto_server from this interpreter's venv on a port it binds itself (port 0), read from its
    "Running on http://127.0.0.1:PORT" line: no chosen-then-released port for another process to
    take (as test-support's Moto::start)."""
    program = os.path.join(os.path.dirname(sys.executable), "moto_server")
    server = subprocess.Popen([program, "-H", "127.0.0.1", "-p", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    port = None
    for line in server.stderr:
        found = re.search(r"Running on http://127\.0\.0\.1:(\d+)", line)
        if found:
            port = int(found.group(1))
            break
    if port is None:
        server.kill()
        raise SystemExit(f"{program} did not say which port it bound")
    # The rest of stderr (a line per request) is drained, so moto never blocks on a full pipe.
    threading.Thread(target=lambda: server.stderr.read(), daemon=True).start()
    return server, port


def main() -> None:
    puts = int(sys.argv[1]) if len(sys.argv) > 1 else 310
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 80
    server, port = start_moto()
    try:
        body = b"x" * 9500
        for calculation in ("when_supported", "when_required"):
            config = Config(request_checksum_calculation=calculation, max_pool_connections=threads + 10)
            s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench", config=config)
            bucket = "floor-" + calculation.replace("_", "-")
            s3.create_bucket(Bucket=bucket)
            started = time.time()
            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"k{i}", Body=body), range(puts)))
            print(f"checksums {calculation:<15} {puts} PUTs of {len(body)} B, {threads} at once: {time.time() - started:.2f} s")
    finally:
        server.kill()


if __name__ == "__main__":
    main()
