"""A real S3 endpoint for tests: moto's server mode on a free port of 127.0.0.1.

boto3 talks HTTP to it exactly as to AWS or MinIO (nothing in boto3 is mocked). Each
test gets a bucket of its own, so tests never see each other's objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from signon.core.storage import StorageConfig

#: moto accepts any keys; these only have to be consistent.
ACCESS_KEY = "signon-test-key"
SECRET_KEY = "signon-test-secret"
REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The address of a running S3 server (moto), for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def make_bucket(endpoint: str) -> str:
    """A new, empty bucket on the server; its name."""
    name = f"signon-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    client.create_bucket(Bucket=name)
    return name


def s3_settings(endpoint: str, bucket: str, prefix: str = "signon") -> dict[str, str]:
    """The ``Settings`` fields that put the app's storage in ``bucket``."""
    return {
        "storage_url": f"s3://{bucket}/{prefix}",
        "storage_endpoint_url": endpoint,
        "storage_region": REGION,
        "storage_access_key_id": ACCESS_KEY,
        "storage_secret_access_key": SECRET_KEY,
    }


def s3_environment(endpoint: str, bucket: str, prefix: str = "signon") -> dict[str, str]:
    """The same as ``SIGNON_*`` environment variables (for app processes)."""
    return {
        f"SIGNON_{key.upper()}": value
        for key, value in s3_settings(endpoint, bucket, prefix).items()
    }


def s3_config(endpoint: str, bucket: str, prefix: str = "signon") -> StorageConfig:
    settings = s3_settings(endpoint, bucket, prefix)
    return StorageConfig(
        directory="/nonexistent",
        url=settings["storage_url"],
        endpoint_url=endpoint,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )
