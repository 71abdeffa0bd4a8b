"""Known vulnerabilities in the pinned dependencies, checked as far as this network allows.

``pip-audit`` asks PyPI for one document per release (``/pypi/<name>/<version>/json``).
Where those are served, this script hands over to ``pip-audit --strict``: the complete audit.

The machines this project is built and tested on reach PyPI only through a registry mirror
that serves the per-*project* document (``/pypi/<name>/json``) but not the per-release one,
and OSV not at all. The per-project document still carries ``vulnerabilities``: the known
vulnerabilities (PyPI's OSV-fed advisories, the very data pip-audit's default service reads)
of the project's *newest* release. So every dependency pinned at its newest release is
checked exactly, and a dependency pinned behind it cannot be checked from here: it is named
in the report, never silently passed.

Exit status: 0 when no known vulnerability was found; 1 when one was, or when a package's
data could not be fetched; with ``--strict`` also 1 when a package could not be checked.
The dependency set is what pip resolves for the requirement files, as ``pip-audit -r`` does.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

DEFAULT_PYPI_URL = "https://pypi.org"
TIMEOUT_SECONDS = 30
RETRIES = 3
RETRY_PAUSE_SECONDS = 0.5

Fetch = Callable[[str], "dict[str, object] | None"]


@dataclass(frozen=True)
class Package:
    name: str
    version: str


@dataclass(frozen=True)
class Vulnerability:
    id: str
    aliases: tuple[str, ...]
    fixed_in: tuple[str, ...]
    link: str


class Outcome(Enum):
    CLEAN = "clean"
    VULNERABLE = "vulnerable"
    BEHIND = "behind"  # pinned below the newest release: its advisories are not published here
    ERROR = "error"


@dataclass(frozen=True)
class Finding:
    package: Package
    outcome: Outcome
    newest: str = ""
    vulnerabilities: tuple[Vulnerability, ...] = ()
    error: str = ""


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    def of(self, outcome: Outcome) -> list[Finding]:
        return [f for f in self.findings if f.outcome is outcome]

    def exit_status(self, *, strict: bool) -> int:
        failing = {Outcome.VULNERABLE, Outcome.ERROR} | ({Outcome.BEHIND} if strict else set())
        return 1 if any(f.outcome in failing for f in self.findings) else 0


# --- Which packages -----------------------------------------------------------------------


def resolve_requirements(requirement_files: Sequence[str]) -> list[Package]:
    """Every distribution pip would install for the files, pinned and transitive alike."""
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
    command += ["--quiet", "--report", "-"]
    for path in requirement_files:
        command += ["-r", path]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(
            f"pip could not resolve {', '.join(requirement_files)}:\n{completed.stderr}"
        )
    return packages_from_pip_report(json.loads(completed.stdout))


def packages_from_pip_report(report: dict[str, object]) -> list[Package]:
    installs = report.get("install")
    if not isinstance(installs, list):
        raise ValueError("not a pip installation report: no 'install' list")
    packages = {
        Package(str(item["metadata"]["name"]), str(item["metadata"]["version"]))
        for item in installs
    }
    return sorted(packages, key=lambda p: canonicalize_name(p.name))


# --- What PyPI says -----------------------------------------------------------------------


def http_fetch(url: str) -> dict[str, object] | None:
    """The JSON document at ``url``; None when the server says it has none (404)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            document = json.load(response)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise
    if not isinstance(document, dict):
        raise ValueError(f"{url}: not a JSON object")
    return document


def per_release_documents_served(pypi_url: str, probe: Package, fetch: Fetch) -> bool:
    """Whether pip-audit's own source (one document per release) answers here."""
    try:
        return fetch(f"{pypi_url}/pypi/{probe.name}/{probe.version}/json") is not None
    except (OSError, ValueError):
        return False


def parse_vulnerabilities(entries: object) -> tuple[Vulnerability, ...]:
    if not isinstance(entries, list):
        raise ValueError("'vulnerabilities' is not a list")
    found = []
    for entry in entries:
        if entry.get("withdrawn"):
            continue
        found.append(
            Vulnerability(
                id=str(entry["id"]),
                aliases=tuple(entry.get("aliases") or ()),
                fixed_in=tuple(entry.get("fixed_in") or ()),
                link=str(entry.get("link") or ""),
            )
        )
    return tuple(found)


def same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def fetch_with_retries(fetch: Fetch, url: str, attempts: int = RETRIES) -> dict[str, object] | None:
    """One passing network fault (a reset, a 502 from the mirror) must not fail CI; a lasting
    one must, so the last attempt's error is raised."""
    for attempt in range(1, attempts + 1):
        try:
            return fetch(url)
        except (OSError, ValueError):  # HTTPError and URLError are OSErrors
            if attempt == attempts:
                raise
            time.sleep(RETRY_PAUSE_SECONDS * attempt)
    raise AssertionError("unreachable")


def check_package(package: Package, pypi_url: str, fetch: Fetch) -> Finding:
    url = f"{pypi_url}/pypi/{canonicalize_name(package.name)}/json"
    try:
        document = fetch_with_retries(fetch, url)
        if document is None:
            return Finding(package, Outcome.ERROR, error=f"{url}: not found")
        info = document.get("info")
        newest = str(info["version"]) if isinstance(info, dict) else ""
        if not newest:
            return Finding(package, Outcome.ERROR, error=f"{url}: no info.version")
        if not same_version(package.version, newest):
            return Finding(package, Outcome.BEHIND, newest=newest)
        vulnerabilities = parse_vulnerabilities(document.get("vulnerabilities"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return Finding(package, Outcome.ERROR, error=f"{url}: {error}")
    outcome = Outcome.VULNERABLE if vulnerabilities else Outcome.CLEAN
    return Finding(package, outcome, newest=newest, vulnerabilities=vulnerabilities)


def drop_ignored(finding: Finding, ignored: set[str]) -> Finding:
    """Accepted risks (``--ignore-vuln``), matched by id or by any alias."""
    kept = tuple(v for v in finding.vulnerabilities if not ({v.id, *v.aliases} & ignored))
    if finding.outcome is not Outcome.VULNERABLE or kept == finding.vulnerabilities:
        return finding
    outcome = Outcome.VULNERABLE if kept else Outcome.CLEAN
    return Finding(finding.package, outcome, finding.newest, kept)


def audit_packages(
    packages: Iterable[Package],
    *,
    pypi_url: str = DEFAULT_PYPI_URL,
    fetch: Fetch = http_fetch,
    ignored: Iterable[str] = (),
    workers: int = 8,
) -> Report:
    ignored_ids = set(ignored)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        findings = pool.map(lambda p: check_package(p, pypi_url, fetch), packages)
        return Report([drop_ignored(f, ignored_ids) for f in findings])


# --- Telling -----------------------------------------------------------------------------


def format_report(report: Report, *, strict: bool) -> str:
    lines = []
    for finding in report.of(Outcome.VULNERABLE):
        for v in finding.vulnerabilities:
            fixed = ", ".join(v.fixed_in) or "no fixed release yet"
            aliases = f" ({', '.join(v.aliases)})" if v.aliases else ""
            lines.append(
                f"VULNERABLE {finding.package.name} {finding.package.version}: "
                f"{v.id}{aliases}; fixed in {fixed} {v.link}".rstrip()
            )
    for finding in report.of(Outcome.ERROR):
        lines.append(f"ERROR {finding.package.name} {finding.package.version}: {finding.error}")
    behind = report.of(Outcome.BEHIND)
    for finding in behind:
        word = "NOT CHECKED" if not strict else "NOT CHECKED (strict: fails)"
        lines.append(
            f"{word} {finding.package.name} {finding.package.version}: the newest release is "
            f"{finding.newest}, and only the newest release's advisories are served here"
        )
    checked = len(report.of(Outcome.CLEAN)) + len(report.of(Outcome.VULNERABLE))
    lines.append(
        f"dependency audit: {checked} of {len(report.findings)} packages checked exactly, "
        f"{len(report.of(Outcome.VULNERABLE))} with known vulnerabilities, "
        f"{len(behind)} not checkable here, {len(report.of(Outcome.ERROR))} errors"
    )
    return "\n".join(lines)


def run_pip_audit(requirement_files: Sequence[str], ignored: Sequence[str]) -> int:
    command = [sys.executable, "-m", "pip_audit", "--strict", "--progress-spinner", "off"]
    for path in requirement_files:
        command += ["-r", path]
    for vuln_id in ignored:
        command += ["--ignore-vuln", vuln_id]
    return subprocess.run(command, check=False).returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("requirements", nargs="+", help="requirement files, as for pip -r")
    parser.add_argument("--pypi-url", default=DEFAULT_PYPI_URL, help="where PyPI's JSON API is")
    parser.add_argument("--ignore-vuln", action="append", default=[], metavar="ID")
    parser.add_argument("--strict", action="store_true", help="fail on packages not checkable")
    parser.add_argument("--no-pip-audit", action="store_true", help="never hand over to pip-audit")
    args = parser.parse_args(argv)

    packages = resolve_requirements(args.requirements)
    if not packages:
        print("dependency audit: the requirement files resolve to no package", file=sys.stderr)
        return 1
    pypi_url = args.pypi_url.rstrip("/")
    hand_over = not args.no_pip_audit and pypi_url == DEFAULT_PYPI_URL
    if hand_over and per_release_documents_served(pypi_url, packages[0], http_fetch):
        print("dependency audit: per-release vulnerability data is reachable; running pip-audit")
        return run_pip_audit(args.requirements, args.ignore_vuln)
    report = audit_packages(packages, pypi_url=pypi_url, ignored=args.ignore_vuln)
    print(format_report(report, strict=args.strict))
    return report.exit_status(strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
