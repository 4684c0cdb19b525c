#!/usr/bin/env python3
"""How long moto_server alone takes for the S3 writes of the cost-etl bench's 31-day Meta batch.

    .tools/venv/bin/python scripts/moto-s3-floor.py [PUTS] [THREADS]

310 PUTs (10 jobs x 31 days) of 9.5 KB (50 campaign rows of ~190 B), 80 at once (10 jobs x the
sink's 8), from boto3, once with request checksums (the SDKs' default) and once without, against
a fresh moto_server on 127.0.0.1. The part of the bench's batch time that is this machine's local
S3, not the function (docs/cost-etl.md#bench).
"""
import concurrent.futures
import socket
import subprocess
import sys
import time

import boto3
from botocore.config import Config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    puts = int(sys.argv[1]) if len(sys.argv) > 1 else 310
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 80
    port = free_port()
    server = subprocess.Popen([sys.executable.replace("python", "moto_server"), "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("moto_server did not start")
                time.sleep(0.1)
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
