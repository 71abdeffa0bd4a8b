"""How fast is the PDF export? Prints measured figures; it asserts nothing.

    .venv/bin/python -m benchmarks.pdf_export [--names 5000] [--rss-names 20000]

In one run, on a fresh SQLite database in a temporary folder (issue 11 item 7):

- the naive render: WeasyPrint laying out the demo text and the same 5,000 names as a
  plain two-column ``<ul style="columns: 2">`` (warm process, fonts loaded);
- the **first export** of a 5,000-signatory letter in the Letter layout, audit page
  included, as a coordinator gets it (database reads, ordering, rendering, storing the
  file, the export record), with no rendered piece kept (the chunk store emptied before
  each run), and its ratio to the naive render (target: at most 0.25);
- the export after **one more signature** (a random name, landing anywhere in the
  alphabetical list) is added to the exported letter (target: at most 0.1), with how many
  pieces were laid out, reused and renumbered; and the same once the background
  pre-render (``operations.prerender``, what the queue runs as signatures arrive) has run;
- the 11-signatory demo statement in a **new process** that warmed its workers at start
  (``warm_up(wait=True)``, as ``flask worker`` does) and has not exported before
  (target: 0.3 s);
- a repeat export of an unchanged letter, served from the stored file;
- ``--rss-names``: a letter of that many names exported in a new process, with the peak
  resident memory (VmHWM) of that process and of each PDF worker (target: under 1 GiB).

Times are wall-clock seconds on this machine; other work on it slows every figure, so
the ratio (measured in the same run) says more than the absolute numbers.
"""

from __future__ import annotations

import argparse
import html
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

SCRIPTS = {
    "latin": "Société Asociación Fundação Ärzte Øresund Łódź Human Rights Coalition Justice "
    "Observatório Comité Ñandú Initiative Forum Network Centre Défense Droits Peace Truth",
    "cyrillic": "Общество Правозащитный центр Мемориал Союз Комитет Україна Свобода",
    "greek": "Ελληνική Ένωση Δικαιωμάτων Ανθρώπου Κέντρο Πολιτών",
    "arabic": "مؤسسة الحق لحقوق الإنسان المركز العربي الشبكة",
    "hebrew": "בצלם האגודה לזכויות האזרח רופאים ארגון",
}


def make_names(count: int, seed: int = 4) -> list[str]:
    """Distinct organisation names, two in three Latin, the rest in four other scripts."""
    rnd = random.Random(seed)
    words = {script: text.split() for script, text in SCRIPTS.items()}
    others = ["cyrillic", "greek", "arabic", "hebrew"]
    names = []
    for index in range(count):
        script = others[(index // 3) % 4] if index % 3 == 0 else "latin"
        chosen = rnd.choices(words[script], k=rnd.randint(2, 6))
        names.append(f"{' '.join(chosen)} {index}")
    return names


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of the PDF worker processes: unlike
    wall-clock time, it hardly depends on what else runs on the machine."""
    import os

    from signon.exports.pdf import render as pdf

    total = time.process_time()
    pool = pdf._pool
    ticks = os.sysconf("SC_CLK_TCK")
    for process in getattr(pool, "_pool", []) if pool is not None else []:
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # not Linux, or the worker has gone
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def naive_render(names: list[str], body_html: str) -> float:
    """The plain two-column list the issue compares against (in this process, warm)."""
    from weasyprint import HTML

    items = "".join(f"<li>{html.escape(n)}</li>" for n in names)
    document = (
        "<html lang=en><head><meta charset=utf-8><style>@page { size: A4; margin: 2cm } "
        "body { font-family: 'Noto Serif', 'Noto Naskh Arabic', 'Noto Serif Hebrew', serif; "
        "font-size: 10.5pt }</style></head><body><h1>Joint NGO statement</h1>"
        f"{body_html}<h2>Signatories</h2><ul style='columns: 2'>{items}</ul></body></html>"
    )
    HTML(string="<html lang=en><body><p>warm Société Общество مؤسسة בצלם</p></body></html>")
    HTML(string="<p>warm</p>").write_pdf()
    cpu = time.process_time()
    seconds, _ = timed(lambda: HTML(string=document).write_pdf())
    print(f"  (naive render: CPU {time.process_time() - cpu:.2f} s, one process)")
    return seconds


def _app(folder: Path) -> Any:
    from signon import create_app
    from signon.config import Settings

    return create_app(
        Settings(
            secret_key="benchmark",  # noqa: S106 - a throwaway app
            database_url=f"sqlite:///{folder / 'bench.db'}",
            base_url="http://localhost",
            storage_dir=str(folder / "storage"),
            ratelimit_enabled=False,
        )
    )


def peak_rss_mib(pid: int | str = "self") -> float:
    """The peak resident memory of a process (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _letter(slug: str) -> Any:
    from sqlalchemy import select

    from signon.extensions import db
    from signon.letters.models import Letter

    return db.session.scalar(select(Letter).where(Letter.slug == slug))


def fresh_demo(folder: Path) -> None:
    """In a new process: warm the workers as ``flask worker`` does at start, then export
    the demo (its first export in this process)."""
    from signon.exports.pdf import operations as pdf_operations
    from signon.exports.pdf import render as pdf

    started = time.perf_counter()
    app = _app(folder)
    with app.app_context():
        warm, _ = timed(lambda: pdf_operations.warm_up(wait=True))
        letter = _letter("bench-demo")
        settings = pdf_operations.settings_for(letter)
        settings.options = {**(settings.options or {}), "date_text": f"fresh {time.time()}"}
        seconds, result = timed(
            lambda: pdf_operations.export_pdf(letter, None, actor_label="benchmark")
        )
        assert result.record.status.value == "done", result.record.error
        print(f"FRESH {time.perf_counter() - started:.3f} {warm:.3f} {seconds:.3f}")
        pdf._kill_pool()


def rss_run(folder: Path) -> None:
    """In a new process: export the ``bench-rss`` letter; print each process's peak RSS."""
    from signon.core.transaction import commit
    from signon.exports.pdf import operations as pdf_operations
    from signon.exports.pdf import render as pdf

    app = _app(folder)
    with app.app_context():
        pdf_operations.warm_up(wait=True)
        letter = _letter("bench-rss")
        seconds, result = timed(
            lambda: pdf_operations.export_pdf(
                letter, None, actor_label="benchmark", background=False
            )
        )
        assert result.record.status.value == "done", result.record.error
        commit()
        workers = [p.pid for p in getattr(pdf._pool, "_pool", [])]
        peaks = [peak_rss_mib()] + [peak_rss_mib(pid) for pid in workers]
        print(
            f"RSS {seconds:.2f} {result.record.page_count} " + " ".join(f"{p:.0f}" for p in peaks)
        )
        pdf._kill_pool()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=5000)
    parser.add_argument("--rss-names", type=int, default=0)
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--fresh-demo", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rss-run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fresh_demo:
        return fresh_demo(args.fresh_demo)
    if args.rss_run:
        return rss_run(args.rss_run)
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from signon.audit.models import AuditEvent
    from signon.core.markdown import render_markdown
    from signon.core.transaction import commit
    from signon.db import utcnow
    from signon.demo import load_bundle
    from signon.exports.models import ExportSettings, Layout
    from signon.exports.pdf import operations as pdf_operations
    from signon.exports.pdf import render as pdf
    from signon.extensions import db
    from signon.letters.models import Letter, Revision
    from signon.signatures.models import (
        Moderation,
        SignatoryKind,
        Signature,
        SignatureSource,
        SignatureStatus,
    )

    folder = Path(tempfile.mkdtemp(prefix="signon-bench-"))
    app = _app(folder)
    bundle = load_bundle()
    figures: dict[str, float] = {}

    with app.app_context():
        upgrade()

        def add_signatures(letter: Letter, revision: Revision, names: list[str]) -> None:
            now = utcnow()
            db.session.execute(
                insert(Signature),
                [
                    {
                        "letter_id": letter.id,
                        "source": SignatureSource.IMPORT,
                        "status": SignatureStatus.APPROVED,
                        "moderation": Moderation.NOT_NEEDED,
                        "name": name,
                        "name_key": Signature.key_for(name),
                        "kind": SignatoryKind.NGO,
                        "revision_id": revision.id,
                        "approved_sha256": revision.content_sha256,
                        "approved_at": now - timedelta(seconds=i),
                        "last_activity_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i, name in enumerate(names)
                ],
            )

        def letter_with(count: int, layout: Layout, slug: str) -> Letter:
            letter = Letter(slug=slug, title=bundle["title"], addressee=bundle["addressee"])
            db.session.add(letter)
            db.session.flush()
            body = bundle["body_markdown"]
            revision = Revision(
                letter_id=letter.id,
                number=1,
                title=bundle["title"],
                body_markdown=body,
                content_sha256=Revision.hash_content(bundle["title"], body),
            )
            db.session.add(revision)
            db.session.flush()
            names = [s["name"] for s in bundle["signatories"]] if count == 11 else make_names(count)
            add_signatures(letter, revision, names)
            db.session.add(
                ExportSettings(letter_id=letter.id, layout=layout, audit_page=True, options={})
            )
            commit()
            return letter

        big = letter_with(args.names, Layout.LETTER, "bench-big")
        demo = letter_with(11, Layout.STATEMENT, "bench-demo")
        if args.rss_names:
            letter_with(args.rss_names, Layout.LETTER, "bench-rss")

        def export(letter: Letter, label: str) -> float:
            cpu_before = cpu_seconds()
            seconds, result = timed(
                lambda: pdf_operations.export_pdf(
                    letter, None, actor_label="benchmark", background=False
                )
            )
            record = result.record
            assert record.status.value == "done", record.error
            commit()
            cpu = cpu_seconds() - cpu_before
            pieces = ""
            if not result.reused:
                details = db.session.scalar(
                    select(AuditEvent.details)
                    .where(AuditEvent.action == "export.finished")
                    .order_by(AuditEvent.id.desc())
                    .limit(1)
                )
                if details and "pieces_laid_out" in details:
                    pieces = (
                        f"; pieces laid out {details['pieces_laid_out']}, reused "
                        f"{details['pieces_reused']}, renumbered {details['pieces_renumbered']}"
                    )
            print(
                f"  {label}: {seconds:.2f} s ({record.page_count} pages, "
                f"render {record.duration_ms} ms{', reused' if result.reused else ''}; "
                f"CPU {cpu:.2f} s in all processes{pieces})"
            )
            return seconds

        def touch(letter: Letter, value: str) -> None:
            """Change an input (the printed date) so that the next export renders anew."""
            settings = pdf_operations.settings_for(letter)
            settings.options = {**(settings.options or {}), "date_text": value}
            commit()

        def forget_pieces() -> None:
            shutil.rmtree(folder / "storage" / "chunks", ignore_errors=True)

        def one_more(letter: Letter, seed: int) -> None:
            name = make_names(1, seed=seed)[0].rsplit(" ", 1)[0] + f" new {seed}"
            revision = letter.head()
            assert revision is not None
            add_signatures(letter, revision, [name])
            commit()

        print(f"Workers: {pdf.worker_count()} processes")
        # start and warm the workers, as a running server has them
        pdf_operations.warm_up(wait=True)
        pdf_operations.preview_pdf(pdf_operations.prepare(demo))

        if not args.skip_naive:
            names = make_names(args.names)
            body_html = str(render_markdown(bundle["body_markdown"]))
            figures["naive"] = naive_render(names, body_html)
            print(f"Naive <ul style='columns: 2'> of {args.names} names: {figures['naive']:.2f} s")

        print(f"Letter layout, {args.names} signatories, audit page, nothing kept:")
        runs = []
        for attempt in range(2):
            forget_pieces()
            touch(big, f"run {attempt}")
            runs.append(export(big, f"first export {attempt + 1}"))
        figures["big"] = min(runs)

        print("The same letter after one more signature (a random name):")
        runs = []
        for attempt in range(3):
            one_more(big, 100 + attempt)
            runs.append(export(big, f"export {attempt + 1}"))
        figures["one_more"] = min(runs)

        print("One more signature, pre-rendered in the background first:")
        runs = []
        for attempt in range(2):
            one_more(big, 200 + attempt)
            seconds, _ = timed(lambda: pdf_operations.prerender(big))
            print(f"  pre-render (background job): {seconds:.2f} s")
            runs.append(export(big, f"export {attempt + 1}"))
        figures["prerendered"] = min(runs)

        print(f"Repeat export of the unchanged {args.names}-signatory letter:")
        runs = [export(big, f"repeat {attempt + 1}") for attempt in range(5)]
        figures["repeat"] = statistics.median(runs)
        pdf._kill_pool()

    print("The demo statement (11 signatories) in a new process, workers warmed at start:")
    fresh: list[tuple[float, float, float]] = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.pdf_export", "--fresh-demo", str(folder)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        line = next(x for x in out.splitlines() if x.startswith("FRESH "))
        whole, warm, seconds = (float(v) for v in line.split()[1:])
        fresh.append((whole, warm, seconds))
        print(f"  process {whole:.2f} s: warm-up {warm:.2f} s, then the export {seconds:.3f} s")
    figures["demo"] = statistics.median(f[2] for f in fresh)

    if args.rss_names:
        print(f"{args.rss_names} signatories in a new process (peak resident memory):")
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.pdf_export", "--rss-run", str(folder)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        line = next(x for x in out.splitlines() if x.startswith("RSS "))
        seconds_text, pages, *peaks = line.split()[1:]
        print(
            f"  export {float(seconds_text):.2f} s, {pages} pages; peak RSS: exporting process "
            f"{peaks[0]} MiB, workers " + ", ".join(f"{p} MiB" for p in peaks[1:])
        )

    print()
    print("Summary (targets from issue 11 item 7):")
    naive = figures.get("naive")

    def ratio(key: str) -> str:
        return f" = {figures[key] / naive:.3f} x the naive {naive:.2f} s" if naive else ""

    print(f"  first export, nothing kept: {figures['big']:.2f} s{ratio('big')} (target <= 0.25)")
    print(
        f"  after one more signature: {figures['one_more']:.2f} s{ratio('one_more')} "
        "(target <= 0.1)"
    )
    print(
        f"  after one more signature, pre-rendered: {figures['prerendered']:.2f} s"
        f"{ratio('prerendered')}"
    )
    print(f"  demo in a new process (median of 3): {figures['demo'] * 1000:.0f} ms (target < 300)")
    print(f"  repeat, unchanged (median of 5): {figures['repeat'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
