"""What the storage backends cost: a local folder against an S3 bucket (moto's server mode).

    .venv/bin/python -m benchmarks.storage [--logos 200] [--pdf-mb 5]

Issue 11 item 2 moved logos, exported PDFs and previews behind ``signon/core/storage.py``.
This measures, in one run and on the same machine, each operation the app makes on both
backends: storing a logo (30 KB PNG), the existence check before serving it (``stat``),
reading it whole (the PDF fetcher), storing and streaming back an exported PDF, and
listing a letter's previews. It prints the median per operation and the ratio S3 / local.

moto's server is a Python process on 127.0.0.1 (real HTTP, boto3 unmocked): the figures
show the client's cost per request (signing, HTTP, parsing) on top of a fast server, not
the latency of AWS or MinIO over a network, which adds its round trip to every S3 figure.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from signon.core.storage import CHUNK, Storage, StorageConfig, open_storage

KEYS = {"access_key_id": "bench", "secret_access_key": "bench", "region": "us-east-1"}


def _median_ms(action: Callable[[int], object], runs: int) -> float:
    times = []
    for n in range(runs):
        start = time.perf_counter()
        action(n)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _stream(store: Storage, name: str) -> int:
    total = 0
    with store.open(name) as stream:
        while chunk := stream.read(CHUNK):
            total += len(chunk)
    return total


def measure(store: Storage, logos: int, pdf: bytes) -> dict[str, float]:
    logo = bytes(range(256)) * 120  # 30 KB
    run = uuid.uuid4().hex[:8]
    names = [f"logos/{run}{n:06d}.png" for n in range(logos)]
    for n in range(20):
        store.put(f"previews/{run}-{n}.png", logo)
    return {
        "put logo (30 KB)": _median_ms(lambda n: store.put(names[n], logo), logos),
        "stat logo": _median_ms(lambda n: store.stat(names[n]), logos),
        "get logo": _median_ms(lambda n: store.get(names[n]), logos),
        f"put PDF ({len(pdf) // 2**20} MB)": _median_ms(
            lambda n: store.put(f"exports/{run}-{n}.pdf", pdf), 5
        ),
        f"stream PDF ({len(pdf) // 2**20} MB)": _median_ms(
            lambda n: _stream(store, f"exports/{run}-{n}.pdf"), 5
        ),
        "list a letter's previews": _median_ms(
            lambda n: list(store.names(f"previews/{run}-1")), 20
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logos", type=int, default=200)
    parser.add_argument("--pdf-mb", type=int, default=5)
    args = parser.parse_args()
    pdf = bytes(range(256)) * (4096 * args.pdf_mb)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=KEYS["region"],
        aws_access_key_id=KEYS["access_key_id"],
        aws_secret_access_key=KEYS["secret_access_key"],
    ).create_bucket(Bucket=bucket)
    try:
        with tempfile.TemporaryDirectory() as folder:
            local = open_storage(StorageConfig(directory=str(Path(folder))))
            s3 = open_storage(
                StorageConfig(
                    directory="", url=f"s3://{bucket}/bench", endpoint_url=endpoint, **KEYS
                )
            )
            local_figures = measure(local, args.logos, pdf)
            s3_figures = measure(s3, args.logos, pdf)
    finally:
        server.stop()
    print(f"{'operation (median ms)':<28} {'local':>9} {'S3 (moto)':>10} {'S3/local':>9}")
    for operation, local_ms in local_figures.items():
        s3_ms = s3_figures[operation]
        print(f"{operation:<28} {local_ms:>9.3f} {s3_ms:>10.3f} {s3_ms / local_ms:>8.1f}x")


if __name__ == "__main__":
    main()
