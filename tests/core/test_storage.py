"""The storage contract, on both backends: a local folder and an S3 bucket (moto's server
mode over real HTTP, boto3 unmocked). Every test runs once per backend."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from signon import create_app
from signon.config import ConfigurationError, Settings, bucket_of
from signon.core import storage as storage_module
from signon.core.storage import (
    BadNameError,
    LocalStorage,
    NotStoredError,
    Storage,
    StorageConfig,
    StorageError,
    open_storage,
    send_stored,
)
from tests.s3 import make_bucket, s3_config


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "local":
        yield open_storage(StorageConfig(directory=str(tmp_path / "store")))
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        yield open_storage(s3_config(endpoint, make_bucket(endpoint)))


def test_put_then_get_open_stat_exists(store: Storage) -> None:
    store.put("logos/a.png", b"first")
    assert store.get("logos/a.png") == b"first"
    with store.open("logos/a.png") as stream:
        assert stream.read() == b"first"
    info = store.stat("logos/a.png")
    assert info is not None and info.size == 5 and info.name == "logos/a.png"
    assert info.modified.tzinfo is not None
    assert store.exists("logos/a.png")
    assert not store.exists("logos/b.png")
    assert store.stat("logos/b.png") is None


def test_a_new_write_replaces_the_old_and_changes_the_tag(store: Storage) -> None:
    store.put("exports/1-1-x.pdf", b"old")
    before = store.stat("exports/1-1-x.pdf")
    store.put("exports/1-1-x.pdf", b"new content")
    after = store.stat("exports/1-1-x.pdf")
    assert store.get("exports/1-1-x.pdf") == b"new content"
    assert before is not None and after is not None
    assert after.size == 11 and after.etag != before.etag


def test_reading_what_is_not_there_says_so(store: Storage) -> None:
    with pytest.raises(NotStoredError):
        store.get("logos/missing.png")
    with pytest.raises(NotStoredError):
        store.open("logos/missing.png")
    store.delete("logos/missing.png")  # deleting nothing is no error


def test_delete(store: Storage) -> None:
    store.put("previews/1-a.png", b"x")
    store.delete("previews/1-a.png")
    assert not store.exists("previews/1-a.png")
    with pytest.raises(NotStoredError):
        store.get("previews/1-a.png")


def test_names_lists_one_prefix_only(store: Storage) -> None:
    for name in ("previews/1-a.png", "previews/1-b.png", "previews/12-a.png", "logos/1-a.png"):
        store.put(name, b"x")
    assert sorted(store.names("previews/1-")) == ["previews/1-a.png", "previews/1-b.png"]
    assert sorted(store.names("previews/")) == [
        "previews/1-a.png",
        "previews/1-b.png",
        "previews/12-a.png",
    ]
    assert list(store.names("exports/")) == []


def test_large_blobs_stream_in_pieces(store: Storage) -> None:
    data = bytes(range(256)) * 20_000  # 5 MB
    store.put("exports/big.pdf", data)
    with store.open("exports/big.pdf") as stream:
        pieces = []
        while piece := stream.read(64 * 1024):
            pieces.append(piece)
    assert len(pieces) > 1 and b"".join(pieces) == data
    with pytest.raises(StorageError):
        store.get("exports/big.pdf", max_bytes=1024)


class _Chunks(io.RawIOBase):
    """A stream that says how much any one read asked for (an upload read in pieces)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.position, self.largest_read = data, 0, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.largest_read = max(self.largest_read, len(buffer))
        piece = self.data[self.position : self.position + len(buffer)]
        buffer[: len(piece)] = piece
        self.position += len(piece)
        return len(piece)


def test_a_stream_is_stored_in_pieces(store: Storage) -> None:
    """An upload (a letter bundle of tens of MB) is copied, never read whole into memory."""
    data = bytes(range(256)) * 48_000  # 12 MB: above boto3's 8 MB multipart threshold
    upload = _Chunks(data)
    store.put("imports/big.json", upload)  # type: ignore[arg-type]
    assert store.get("imports/big.json") == data
    assert 0 < upload.largest_read <= 8 * 1024 * 1024


@pytest.mark.parametrize(
    "name",
    [
        "../secret",
        "logos/../../etc/passwd",
        "/etc/passwd",
        "logos/.part-x",
        ".hidden",
        "logos//a.png",
        "logos/a b.png",
        "logos\\a.png",
        "",
        "a" * 600,
    ],
)
def test_names_the_app_does_not_make_are_refused(store: Storage, name: str) -> None:
    for call in (
        lambda: store.put(name, b"x"),
        lambda: store.get(name),
        lambda: store.stat(name),
        lambda: store.delete(name),
    ):
        with pytest.raises(BadNameError):
            call()


def test_concurrent_readers_see_a_whole_version(store: Storage) -> None:
    """Writers replace a blob while readers read it: every read is one whole version."""
    versions = [bytes([n]) * 300_000 for n in range(1, 6)]
    store.put("logos/busy.png", versions[0])
    seen: list[bytes] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append(store.get("logos/busy.png"))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    for version in versions[1:] * 3:
        store.put("logos/busy.png", version)
    stop.set()
    for reader in readers:
        reader.join()
    assert seen and all(data in versions for data in seen)


def test_local_writes_leave_no_temporary_file(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    store.put("logos/a.png", b"x")
    assert [p.name for p in (tmp_path / "logos").iterdir()] == ["a.png"]


def test_local_symlinks_out_of_the_folder_are_not_stored_files(tmp_path: Path) -> None:
    (tmp_path / "outside.png").write_bytes(b"secret")
    (tmp_path / "store" / "logos").mkdir(parents=True)
    (tmp_path / "store" / "logos" / "a.png").symlink_to(tmp_path / "outside.png")
    store = LocalStorage(tmp_path / "store")
    assert store.stat("logos/a.png") is None
    with pytest.raises(NotStoredError):
        store.get("logos/a.png")


@pytest.mark.parametrize(
    "url", ["https://bucket/x", "s3://", "s3:///prefix", "s3://Upper_Case", "bucket/x", "s3://b"]
)
def test_a_bad_bucket_address_stops_the_app(url: str) -> None:
    with pytest.raises(ConfigurationError, match="SIGNON_STORAGE_URL"):
        storage_module.S3Storage(StorageConfig(directory="", url=url))
    with pytest.raises(ConfigurationError, match="SIGNON_STORAGE_URL"):
        create_app(Settings(secret_key="k" * 64, base_url="http://localhost", storage_url=url))


def test_bucket_and_prefix() -> None:
    assert bucket_of("s3://signon-files") == ("signon-files", "")
    assert bucket_of("s3://signon-files/production/site/") == ("signon-files", "production/site")


def test_served_blobs_answer_conditional_and_range_requests(app: Flask, store: Storage) -> None:
    """send_stored, on both backends: length, tag, 304 on a matching If-None-Match, 206 for a
    range; the same headers whatever the backend."""
    store.put("logos/served.png", b"0123456789")
    with app.test_request_context("/"):
        response = send_stored("logos/served.png", mimetype="image/png", max_age=0, store=store)
        assert response.status_code == 200
        assert b"".join(response.response) == b"0123456789"  # type: ignore[arg-type]
        assert response.content_length == 10
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["Accept-Ranges"] == "bytes"
        assert response.headers["Content-Disposition"] == "inline; filename=served.png"
        assert response.headers["Cache-Control"] == "no-cache, max-age=0"
        assert response.last_modified is not None
        etag = response.headers["ETag"]
        response.close()
    with app.test_request_context("/", headers={"If-None-Match": etag}):
        response = send_stored("logos/served.png", mimetype="image/png", max_age=0, store=store)
        assert response.status_code == 304
        response.close()
    with app.test_request_context("/", headers={"Range": "bytes=2-4"}):
        response = send_stored("logos/served.png", mimetype="image/png", max_age=300, store=store)
        assert response.status_code == 206
        assert b"".join(response.response) == b"234"  # type: ignore[arg-type]
        assert response.headers["Content-Range"] == "bytes 2-4/10"
        assert response.headers["Cache-Control"] == "public, max-age=300"
        response.close()


@pytest.mark.parametrize("max_age", [0, 300])
def test_local_files_are_served_with_the_headers_send_file_gave_them(
    app: Flask, tmp_path: Path, max_age: int
) -> None:
    """The routes used Flask's send_file / send_from_directory on the folder: through the
    storage, a local file gets the same headers (the same ETag too, so browsers' cached
    copies stay valid)."""
    from flask import send_from_directory

    store = LocalStorage(tmp_path)
    store.put("logos/served.png", b"0123456789")
    with app.test_request_context("/"):
        before = send_from_directory(
            tmp_path / "logos", "served.png", mimetype="image/png", max_age=max_age
        )
        after = send_stored("logos/served.png", mimetype="image/png", max_age=max_age, store=store)
        assert dict(after.headers) | {"Expires": ""} == dict(before.headers) | {"Expires": ""}
        assert abs(after.expires.timestamp() - before.expires.timestamp()) <= 1  # type: ignore[union-attr]
        assert b"".join(after.response) == b"".join(before.response)  # type: ignore[arg-type]
        before.close()
        after.close()
