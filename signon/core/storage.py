"""Named blobs (logos, exported PDFs, previews) in a local folder or an S3-compatible bucket.

Every file the app writes for later (``logos/<name>.png``, ``exports/<id>.pdf``,
``previews/<letter>-<fingerprint>.png``) goes through :class:`Storage`, so that any app
server or worker reads what any other wrote. Two backends, chosen by the settings:

- :class:`LocalStorage` (the default, ``SIGNON_STORAGE_DIR``): one folder, as before. A
  write goes to a temporary file in the same folder, renamed into place, so a reader
  sees the whole old file or the whole new one, never half of one.
- :class:`S3Storage` (``SIGNON_STORAGE_URL=s3://bucket/prefix``): one bucket through
  boto3, with an optional endpoint URL for S3-compatible stores (MinIO, Ceph, Garage).
  A PUT is atomic: readers see the old object or the new one.

Files reach users only through the app (:func:`send_stored`), which checks permissions
first: no public or pre-signed URLs. Names are made by the app, never by users; they
are still checked (:data:`NAME`): no ``..``, no leading dot (the local backend's
temporary files start with one), no absolute paths.

Backends are built once per process and per configuration (:func:`open_storage`): they
hold a folder name or a boto3 client, and no data.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
import time
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

from flask import Response, abort, current_app, request
from werkzeug.wsgi import wrap_file

from signon.config import bucket_of

if TYPE_CHECKING:
    from signon.config import Settings

#: A stored name: ``/``-separated parts of letters, digits, ``.``, ``_`` and ``-``, none
#: starting with a dot (so no ``..`` and no temporary file can be named).
NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")
MAX_NAME_LENGTH = 512
#: Read size when streaming or copying.
CHUNK = 64 * 1024


class StorageError(RuntimeError):
    """The store could not be reached or refused the operation."""


class NotStoredError(StorageError, FileNotFoundError):
    """Nothing is stored under this name."""


class BadNameError(StorageError, ValueError):
    """Not a name the app makes (see :data:`NAME`)."""


@dataclass(frozen=True)
class StoredInfo:
    """What is known about a stored blob without reading it."""

    name: str
    size: int
    modified: datetime
    #: Changes whenever the content may have changed (unquoted; used as the HTTP ETag).
    etag: str


@dataclass(frozen=True)
class StorageConfig:
    """Which backend and where: plain values, so it can be pickled into the PDF workers."""

    directory: str
    url: str = ""
    endpoint_url: str = ""
    region: str = ""
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> StorageConfig:
        return cls(
            directory=settings.storage_dir,
            url=settings.storage_url,
            endpoint_url=settings.storage_endpoint_url,
            region=settings.storage_region,
            access_key_id=settings.storage_access_key_id,
            secret_access_key=settings.storage_secret_access_key,
        )

    @property
    def is_s3(self) -> bool:
        return bool(self.url)


def check_name(name: str) -> str:
    """``name`` if it is a name the app makes, else :class:`BadNameError`."""
    if len(name) > MAX_NAME_LENGTH or not NAME.fullmatch(name):
        raise BadNameError(f"not a storage name: {name[:80]!r}")
    return name


def check_prefix(prefix: str) -> str:
    """``prefix`` if it is the start of names the app makes (``previews/``, ``previews/12-``)."""
    if prefix and not NAME.fullmatch(prefix.rstrip("/")):
        raise BadNameError(f"not a storage prefix: {prefix[:80]!r}")
    return prefix


class Storage(ABC):
    """Put, read, stream and delete named blobs. Every method checks the name first."""

    @abstractmethod
    def put(self, name: str, data: bytes | IO[bytes]) -> None:
        """Store ``data`` (bytes, or a binary stream read to its end in chunks: an upload
        is never held in memory whole) under ``name``, replacing what was there,
        atomically."""

    @abstractmethod
    def open(self, name: str) -> BinaryIO:
        """A stream of the blob's bytes (the caller closes it); :class:`NotStoredError`."""

    @abstractmethod
    def stat(self, name: str) -> StoredInfo | None:
        """Size, time and tag of the blob, or ``None`` when nothing is stored under it."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove the blob; nothing happens when there is none."""

    @abstractmethod
    def names(self, prefix: str) -> Iterator[str]:
        """Every stored name that starts with ``prefix`` (``"previews/"``, ``"previews/12-"``)."""

    def get(self, name: str, *, max_bytes: int | None = None) -> bytes:
        """The blob's bytes; :class:`NotStoredError`, or :class:`StorageError` above
        ``max_bytes``."""
        with self.open(name) as stream:
            data = stream.read() if max_bytes is None else stream.read(max_bytes + 1)
        if max_bytes is not None and len(data) > max_bytes:
            raise StorageError(f"{name} is larger than {max_bytes} bytes")
        return data

    def exists(self, name: str) -> bool:
        return self.stat(name) is not None


class LocalStorage(Storage):
    """A folder on this machine (shared between servers only if the folder is)."""

    def __init__(self, directory: str | Path) -> None:
        self.root = Path(directory)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, name: str) -> Path:
        return self.root / check_name(name)

    def _existing(self, name: str) -> Path:
        """The file stored under ``name``: a regular file inside the folder (a symlink
        leading out of it counts as nothing stored)."""
        path = self._path(name)
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root.resolve()) or not resolved.is_file():
            raise NotStoredError(name)
        return path

    def put(self, name: str, data: bytes | IO[bytes]) -> None:
        target = self._path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as out:
                if isinstance(data, bytes):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def open(self, name: str) -> BinaryIO:
        path = self._existing(name)
        try:
            return path.open("rb")
        except FileNotFoundError as exc:
            raise NotStoredError(name) from exc

    def stat(self, name: str) -> StoredInfo | None:
        try:
            path = self._existing(name)
            result = path.stat()
        except (NotStoredError, FileNotFoundError):
            return None
        # The tag Werkzeug's send_file makes for a file, so responses keep their headers.
        check = zlib.adler32(str(path).encode()) & 0xFFFFFFFF
        return StoredInfo(
            name=name,
            size=result.st_size,
            modified=datetime.fromtimestamp(result.st_mtime, UTC),
            etag=f"{result.st_mtime}-{result.st_size}-{check}",
        )

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def names(self, prefix: str) -> Iterator[str]:
        folder = self.root / check_prefix(prefix).rpartition("/")[0]
        if not folder.is_dir():
            return
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(self.root).as_posix()
            if name.startswith(prefix) and NAME.fullmatch(name) and path.is_file():
                yield name


class S3Storage(Storage):
    """One bucket (and key prefix) of an S3-compatible store, through boto3."""

    def __init__(self, config: StorageConfig) -> None:
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket_of(config.url)
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=config.endpoint_url or None,
            region_name=config.region or None,
            aws_access_key_id=config.access_key_id or None,
            aws_secret_access_key=config.secret_access_key or None,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )

    def __repr__(self) -> str:
        return f"S3Storage(s3://{self.bucket}/{self.prefix})"

    def _key(self, name: str) -> str:
        check_name(name)
        return f"{self.prefix}/{name}" if self.prefix else name

    def _errors(self, name: str, exc: Exception) -> StorageError:
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in {"404", "NoSuchKey", "NotFound"}:
                return NotStoredError(name)
        return StorageError(f"storage: {name}: {exc}")

    def put(self, name: str, data: bytes | IO[bytes]) -> None:
        key = self._key(name)
        try:
            if isinstance(data, bytes):
                self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
            else:  # in parts of at most 8 MB (boto3's multipart upload), not read whole
                self.client.upload_fileobj(data, self.bucket, key)
        except Exception as exc:
            raise self._errors(name, exc) from exc

    def open(self, name: str) -> BinaryIO:
        key = self._key(name)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._errors(name, exc) from exc
        return cast(BinaryIO, answer["Body"])

    def stat(self, name: str) -> StoredInfo | None:
        key = self._key(name)
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            error = self._errors(name, exc)
            if isinstance(error, NotStoredError):
                return None
            raise error from exc
        return StoredInfo(
            name=name,
            size=int(answer["ContentLength"]),
            modified=answer["LastModified"],
            etag=str(answer["ETag"]).strip('"'),
        )

    def delete(self, name: str) -> None:
        key = self._key(name)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            error = self._errors(name, exc)
            if not isinstance(error, NotStoredError):
                raise error from exc

    def names(self, prefix: str) -> Iterator[str]:
        check_prefix(prefix)
        folder = f"{self.prefix}/{prefix}" if self.prefix else prefix
        skip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=folder):
                for item in page.get("Contents", []):
                    yield str(item["Key"])[skip:]
        except Exception as exc:
            raise self._errors(prefix, exc) from exc


@functools.lru_cache(maxsize=8)
def open_storage(config: StorageConfig) -> Storage:
    """The backend for ``config``, made once per process (a boto3 client is thread-safe)."""
    if config.is_s3:
        return S3Storage(config)
    return LocalStorage(config.directory)


def storage() -> Storage:
    """The app's store, as the current settings say."""
    return open_storage(StorageConfig.from_settings(current_app.config["SIGNON"]))


def storage_config() -> StorageConfig:
    """The current settings' store, as plain values (for processes without the app)."""
    return StorageConfig.from_settings(current_app.config["SIGNON"])


def send_stored(
    name: str, *, mimetype: str, max_age: int | None = None, store: Storage | None = None
) -> Response:
    """Stream a stored blob to the client, as Flask's ``send_file`` does for a file:
    Content-Length, Last-Modified, ETag, Cache-Control, conditional GET (304) and byte
    ranges. The caller has checked the permissions; raises :class:`NotStoredError`."""
    store = store or storage()
    info = store.stat(name)
    if info is None:
        raise NotStoredError(name)
    stream: IO[bytes] = store.open(name)
    response = Response(
        wrap_file(request.environ, stream), mimetype=mimetype, direct_passthrough=True
    )
    response.content_length = info.size
    # As send_file names a file: "inline" with the stored name's last part.
    response.headers.set("Content-Disposition", "inline", filename=name.rsplit("/", 1)[-1])
    response.last_modified = info.modified
    response.cache_control.no_cache = True
    if max_age is not None:
        if max_age > 0:
            response.cache_control.no_cache = None
            response.cache_control.public = True
        response.cache_control.max_age = max_age
        response.expires = datetime.fromtimestamp(int(time.time() + max_age), UTC)
    response.set_etag(info.etag)
    response.make_conditional(request.environ, accept_ranges=True, complete_length=info.size)
    return response


def send_stored_or_404(name: str | None, *, mimetype: str, max_age: int | None = None) -> Response:
    """:func:`send_stored`, or 404 when there is no name, not a storage name, or nothing
    stored under it."""
    if name is None:
        abort(404)
    try:
        return send_stored(name, mimetype=mimetype, max_age=max_age)
    except (NotStoredError, BadNameError):
        abort(404)
