"""Issue 11 item 4: a request id per request, on the response and on every log record of
that request (and of the jobs it starts); JSON log lines in production."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from flask import Flask

from signon import create_app
from signon.config import ConfigurationError, Settings
from signon.core import logs, request_id
from signon.core.access import public
from tests.conftest import make_settings
from tests.smtp import MailCatcher

log = logging.getLogger("signon.test_request_id")


def _app(database_url: str, mail_catcher: MailCatcher, **overrides: object) -> Flask:
    """An app with one extra public page that logs twice (a view and an after-request hook)."""
    app = create_app(make_settings(database_url, mail_catcher, **overrides))

    @public
    def logs_twice() -> str:
        log.info("in the view")
        return "ok"

    app.add_url_rule("/logs-twice", view_func=logs_twice)

    @app.after_request
    def _log_after(response):  # type: ignore[no-untyped-def]
        log.info("after the view")
        return response

    return app


@pytest.fixture
def plain_app(database_url: str, mail_catcher: MailCatcher) -> Flask:
    return _app(database_url, mail_catcher)


@pytest.fixture
def proxied_app(database_url: str, mail_catcher: MailCatcher) -> Flask:
    return _app(database_url, mail_catcher, trusted_proxies=1)


def test_each_response_carries_a_new_generated_id(plain_app: Flask) -> None:
    client = plain_app.test_client()
    first = client.get("/logs-twice").headers["X-Request-ID"]
    second = client.get("/logs-twice").headers["X-Request-ID"]
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


def test_a_clients_id_is_ignored_without_trusted_proxies(plain_app: Flask) -> None:
    response = plain_app.test_client().get(
        "/logs-twice", headers={"X-Request-ID": "chosen-by-the-client"}
    )
    assert response.headers["X-Request-ID"] != "chosen-by-the-client"


def test_the_proxys_id_is_kept_behind_trusted_proxies(proxied_app: Flask) -> None:
    client = proxied_app.test_client()
    kept = client.get("/logs-twice", headers={"X-Request-ID": "nginx-4f1c9a2b77"})
    assert kept.headers["X-Request-ID"] == "nginx-4f1c9a2b77"
    for bad in ("short", "has spaces in it", "x" * 129, "semi;colon;id"):
        response = client.get("/logs-twice", headers={"X-Request-ID": bad})
        assert response.headers["X-Request-ID"] != bad
        assert len(response.headers["X-Request-ID"]) == 32


def test_every_log_record_of_a_request_carries_its_id(
    plain_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = plain_app.test_client()
    with caplog.at_level(logging.INFO, logger="signon.test_request_id"):
        first = client.get("/logs-twice").headers["X-Request-ID"]
        second = client.get("/logs-twice").headers["X-Request-ID"]
    records = [r for r in caplog.records if r.name == "signon.test_request_id"]
    assert [(r.getMessage(), r.request_id) for r in records] == [  # type: ignore[attr-defined]
        ("in the view", first),
        ("after the view", first),
        ("in the view", second),
        ("after the view", second),
    ]


def test_a_job_logs_under_the_id_it_was_given(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="signon.test_request_id"):
        log.info("before")
        with request_id.bound("job-from-request-1234"):
            assert request_id.current() == "job-from-request-1234"
            log.info("in the job")
        log.info("after")
    ids = [r.request_id for r in caplog.records if r.name == "signon.test_request_id"]  # type: ignore[attr-defined]
    assert ids == [None, "job-from-request-1234", None]


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logs.install_handler("json", stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_json_lines_hold_the_request_id(plain_app: Flask, json_lines: io.StringIO) -> None:
    response = plain_app.test_client().get("/logs-twice")
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    ours = [line for line in lines if line["logger"] == "signon.test_request_id"]
    assert [(line["message"], line["level"]) for line in ours] == [
        ("in the view", "INFO"),
        ("after the view", "INFO"),
    ]
    assert {line["request_id"] for line in ours} == {response.headers["X-Request-ID"]}
    assert all(line["time"] for line in ours)


def test_text_lines_name_the_request_id(plain_app: Flask) -> None:
    stream = io.StringIO()
    level = logging.getLogger().level
    handler = logs.install_handler("text", stream)
    try:
        response = plain_app.test_client().get("/logs-twice")
        log.info("outside any request")
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(level)
    assert f"[{response.headers['X-Request-ID']}] in the view" in stream.getvalue()
    assert "signon.test_request_id [-] outside any request" in stream.getvalue()


def test_the_log_format_defaults_to_json_in_production_and_text_in_development() -> None:
    production = Settings(secret_key="k")
    assert production.resolved_log_format == "json"
    assert production.with_(environment="development").resolved_log_format == "text"
    assert production.with_(log_format="text").resolved_log_format == "text"
    with pytest.raises(ConfigurationError, match="SIGNON_LOG_FORMAT"):
        production.with_(log_format="xml").resolved_log_format  # noqa: B018


def test_the_log_format_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNON_ENV", "development")
    monkeypatch.setenv("SIGNON_LOG_FORMAT", "JSON")
    assert Settings.from_env().resolved_log_format == "json"
