"""The dependency audit that CI runs (``.ci/dependency_audit.py``, ``make audit``).

A PyPI stand-in on loopback serves the same JSON documents PyPI serves (the shapes below are
PyPI's, abridged), so every outcome is exercised over real HTTP; one test asks the real
registry about a package whose newest release has published vulnerabilities, to show that the
check fails on real data and not only on ours.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version as installed_version
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "dependency_audit.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dependency_audit", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["dependency_audit"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


audit = _load_script()

PYCRYPTO_ADVISORY = {
    "aliases": ["CVE-2013-7459", "GHSA-cq27-v7xp-c356"],
    "details": "Heap-based buffer overflow in the ALGnew function in block_templace.c",
    "fixed_in": [],
    "id": "PYSEC-2017-94",
    "link": "https://osv.dev/vulnerability/PYSEC-2017-94",
    "source": "osv",
    "summary": None,
    "withdrawn": None,
}


def project_document(newest: str, vulnerabilities: list[dict[str, Any]] | None = None) -> Any:
    return {
        "info": {"name": "whatever", "version": newest},
        "releases": {newest: []},
        "urls": [],
        "vulnerabilities": vulnerabilities or [],
    }


class FakePyPI:
    """Answers ``/pypi/<name>/json`` (and per-release paths) from a dict; anything else 404."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.statuses: dict[str, int] = {}
        self.failures: dict[str, int] = {}  # answer 502 this many times first
        self.requested: list[str] = []
        pypi = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                pypi.requested.append(self.path)
                status = pypi.statuses.get(self.path)
                if pypi.failures.get(self.path):
                    pypi.failures[self.path] -= 1
                    status = 502
                document = pypi.documents.get(self.path)
                if status is None:
                    status = 200 if document is not None else 404
                body = json.dumps(document if status == 200 else {"message": "no"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, name: str, newest: str, vulnerabilities: list[Any] | None = None) -> None:
        self.documents[f"/pypi/{name}/json"] = project_document(newest, vulnerabilities)


@pytest.fixture
def pypi() -> Iterator[FakePyPI]:
    fake = FakePyPI()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def run(pypi: FakePyPI, *packages: tuple[str, str], **kwargs: Any) -> Any:
    return audit.audit_packages(
        [audit.Package(name, version) for name, version in packages], pypi_url=pypi.url, **kwargs
    )


def outcomes(report: Any) -> dict[str, str]:
    return {f.package.name: f.outcome.value for f in report.findings}


def test_a_package_at_its_newest_release_without_advisories_is_clean(pypi: FakePyPI) -> None:
    pypi.serve("flask", "3.1.3")
    report = run(pypi, ("Flask", "3.1.3"))
    assert outcomes(report) == {"Flask": "clean"}
    assert report.exit_status(strict=True) == 0
    assert pypi.requested == ["/pypi/flask/json"]  # the name is normalised as PyPI expects


def test_a_published_vulnerability_fails_the_audit_and_is_named(pypi: FakePyPI) -> None:
    pypi.serve("pycrypto", "2.6.1", [PYCRYPTO_ADVISORY])
    pypi.serve("flask", "3.1.3")
    report = run(pypi, ("pycrypto", "2.6.1"), ("Flask", "3.1.3"))
    assert outcomes(report) == {"pycrypto": "vulnerable", "Flask": "clean"}
    assert report.exit_status(strict=False) == 1
    text = audit.format_report(report, strict=False)
    assert "VULNERABLE pycrypto 2.6.1: PYSEC-2017-94 (CVE-2013-7459, GHSA-cq27-v7xp-c356)" in text
    assert "no fixed release yet" in text
    assert "2 of 2 packages checked exactly, 1 with known vulnerabilities" in text


def test_withdrawn_advisories_do_not_count(pypi: FakePyPI) -> None:
    withdrawn = dict(PYCRYPTO_ADVISORY, withdrawn="2024-01-01T00:00:00Z")
    pypi.serve("pycrypto", "2.6.1", [withdrawn])
    assert outcomes(run(pypi, ("pycrypto", "2.6.1"))) == {"pycrypto": "clean"}


def test_an_ignored_vulnerability_is_accepted_by_id_or_alias(pypi: FakePyPI) -> None:
    pypi.serve("pycrypto", "2.6.1", [PYCRYPTO_ADVISORY])
    assert outcomes(run(pypi, ("pycrypto", "2.6.1"), ignored=["CVE-2013-7459"])) == {
        "pycrypto": "clean"
    }
    assert outcomes(run(pypi, ("pycrypto", "2.6.1"), ignored=["PYSEC-2000-1"])) == {
        "pycrypto": "vulnerable"
    }


def test_a_package_behind_its_newest_release_is_named_not_passed(pypi: FakePyPI) -> None:
    # The newest release's advisories say nothing about an older one, even when empty.
    pypi.serve("nh3", "0.3.8")
    report = run(pypi, ("nh3", "0.3.7"))
    assert outcomes(report) == {"nh3": "behind"}
    text = audit.format_report(report, strict=False)
    assert "NOT CHECKED nh3 0.3.7: the newest release is 0.3.8" in text
    assert "0 of 1 packages checked exactly" in text
    assert report.exit_status(strict=False) == 0
    assert report.exit_status(strict=True) == 1


def test_versions_compare_as_versions(pypi: FakePyPI) -> None:
    pypi.serve("tzdata", "2026.6")
    assert outcomes(run(pypi, ("tzdata", "2026.06"))) == {"tzdata": "clean"}


@pytest.mark.parametrize("status", [404, 500, 503])
def test_a_package_whose_data_cannot_be_fetched_fails_the_audit(
    pypi: FakePyPI, status: int
) -> None:
    pypi.serve("flask", "3.1.3")
    pypi.statuses["/pypi/flask/json"] = status
    report = run(pypi, ("Flask", "3.1.3"))
    assert outcomes(report) == {"Flask": "error"}
    assert report.exit_status(strict=False) == 1
    assert "ERROR Flask 3.1.3" in audit.format_report(report, strict=False)


def test_a_passing_fault_is_retried(pypi: FakePyPI) -> None:
    pypi.serve("flask", "3.1.3")
    pypi.failures["/pypi/flask/json"] = 2
    assert outcomes(run(pypi, ("Flask", "3.1.3"))) == {"Flask": "clean"}
    assert pypi.requested == ["/pypi/flask/json"] * 3


def test_a_malformed_document_is_an_error_not_a_pass(pypi: FakePyPI) -> None:
    pypi.documents["/pypi/flask/json"] = {"info": {"version": "3.1.3"}, "vulnerabilities": "?"}
    assert outcomes(run(pypi, ("Flask", "3.1.3"))) == {"Flask": "error"}


def test_an_unreachable_index_is_an_error() -> None:
    report = audit.audit_packages([audit.Package("Flask", "3.1.3")], pypi_url="http://127.0.0.1:9")
    assert outcomes(report) == {"Flask": "error"}


def test_pip_audit_takes_over_only_where_per_release_documents_are_served(
    pypi: FakePyPI,
) -> None:
    probe = audit.Package("Flask", "3.1.3")
    assert not audit.per_release_documents_served(pypi.url, probe, audit.http_fetch)
    pypi.documents["/pypi/Flask/3.1.3/json"] = project_document("3.1.3")
    assert audit.per_release_documents_served(pypi.url, probe, audit.http_fetch)
    assert not audit.per_release_documents_served("http://127.0.0.1:9", probe, audit.http_fetch)


def test_the_pip_report_gives_every_distribution_once_in_name_order() -> None:
    report = {
        "version": "1",
        "install": [
            {"metadata": {"name": "Werkzeug", "version": "3.1.9"}},
            {"metadata": {"name": "blinker", "version": "1.9.0"}},
            {"metadata": {"name": "Werkzeug", "version": "3.1.9"}},
        ],
    }
    assert audit.packages_from_pip_report(report) == [
        audit.Package("blinker", "1.9.0"),
        audit.Package("Werkzeug", "3.1.9"),
    ]
    with pytest.raises(ValueError, match="installation report"):
        audit.packages_from_pip_report({"version": "1"})


def _requirements(tmp_path: Path) -> Path:
    """A requirement already installed here, so that pip resolves it without downloading."""
    pinned = installed_version("iniconfig")
    path = tmp_path / "requirements.txt"
    path.write_text(f"iniconfig=={pinned}\n")
    return path


def test_the_command_resolves_the_files_and_fails_on_a_vulnerability(
    pypi: FakePyPI, tmp_path: Path
) -> None:
    requirements = _requirements(tmp_path)
    pinned = installed_version("iniconfig")
    command = [sys.executable, str(SCRIPT), str(requirements), "--pypi-url", pypi.url]

    pypi.serve("iniconfig", pinned, [dict(PYCRYPTO_ADVISORY, id="PYSEC-2099-1", aliases=[])])
    failed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"VULNERABLE iniconfig {pinned}: PYSEC-2099-1" in failed.stdout

    pypi.serve("iniconfig", pinned)
    passed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "1 of 1 packages checked exactly, 0 with known vulnerabilities" in passed.stdout


def test_the_real_registry_reports_a_real_vulnerability() -> None:
    """pycrypto's newest release (2.6.1, from 2013) has published advisories on PyPI."""
    report = audit.audit_packages([audit.Package("pycrypto", "2.6.1")])
    (finding,) = report.findings
    assert finding.outcome is audit.Outcome.VULNERABLE, finding
    assert {"PYSEC-2017-94", "PYSEC-2018-97"} <= {v.id for v in finding.vulnerabilities}
