"""How fast is the PDF export? Prints measured figures; it asserts nothing.

    .venv/bin/python -m benchmarks.pdf_export [--names 5000]

In one run, on a fresh SQLite database in a temporary folder:

- the naive render: WeasyPrint laying out the demo text and the same 5,000 names as a
  plain two-column ``<ul style="columns: 2">`` (warm process, fonts loaded);
- the export of a 5,000-signatory letter in the Letter layout, audit page included, as
  a coordinator gets it (database reads, ordering, rendering, storing the file, the
  export record), and its ratio to the naive render (target: at most 0.25);
- the same for 1,000 signatories (target: under 1.5 s);
- the 11-signatory demo statement, warm (target: under 0.3 s);
- a repeat export of an unchanged letter, served from the stored file (target: 50 ms).

Times are wall-clock seconds on this machine; other work on it slows every figure, so
the ratio (measured in the same run) says more than the absolute numbers.
"""

from __future__ import annotations

import argparse
import html
import random
import statistics
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=5000)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import insert

    from signon import create_app
    from signon.config import Settings
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
    app = create_app(
        Settings(
            secret_key="benchmark",  # noqa: S106 - a throwaway app
            database_url=f"sqlite:///{folder / 'bench.db'}",
            base_url="http://localhost",
            storage_dir=str(folder / "storage"),
            ratelimit_enabled=False,
        )
    )
    bundle = load_bundle()
    figures: dict[str, float] = {}
    cpus: dict[str, list[float]] = {}

    with app.app_context():
        upgrade()

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
            db.session.add(
                ExportSettings(letter_id=letter.id, layout=layout, audit_page=True, options={})
            )
            commit()
            return letter

        big = letter_with(args.names, Layout.LETTER, "bench-big")
        thousand = letter_with(1000, Layout.LETTER, "bench-1000")
        demo = letter_with(11, Layout.STATEMENT, "bench-demo")

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
            if not result.reused:
                cpus.setdefault(letter.slug, []).append(cpu)
            print(
                f"  {label}: {seconds:.2f} s ({record.page_count} pages, "
                f"render {record.duration_ms} ms{', reused' if result.reused else ''}; "
                f"CPU {cpu:.2f} s in all processes)"
            )
            return seconds

        def touch(letter: Letter, value: str) -> None:
            """Change an input (the printed date) so that the next export renders anew."""
            settings = pdf_operations.settings_for(letter)
            settings.options = {**(settings.options or {}), "date_text": value}
            commit()

        print(f"Workers: {pdf.worker_count()} processes")
        # start and warm the workers, as a running server has them
        pdf_operations.preview_pdf(pdf_operations.prepare(demo))

        if not args.skip_naive:
            names = make_names(args.names)
            body_html = str(render_markdown(bundle["body_markdown"]))
            figures["naive"] = naive_render(names, body_html)
            print(f"Naive <ul style='columns: 2'> of {args.names} names: {figures['naive']:.2f} s")

        print(f"Letter layout, {args.names} signatories, audit page:")
        runs = []
        for attempt in range(2):
            touch(big, f"run {attempt}")
            runs.append(export(big, f"export {attempt + 1}"))
        figures["big"] = min(runs)

        print("Letter layout, 1,000 signatories:")
        runs = []
        for attempt in range(3):
            touch(thousand, f"run {attempt}")
            runs.append(export(thousand, f"export {attempt + 1}"))
        figures["thousand"] = min(runs)

        print("The demo statement (11 signatories), warm:")
        runs = []
        for attempt in range(5):
            touch(demo, f"run {attempt}")
            runs.append(export(demo, f"export {attempt + 1}"))
        figures["demo"] = statistics.median(runs)

        print(f"Repeat export of the unchanged {args.names}-signatory letter:")
        runs = [export(big, f"repeat {attempt + 1}") for attempt in range(5)]
        figures["repeat"] = statistics.median(runs)

    print()
    print("Summary (targets from issue 4):")
    if "naive" in figures:
        ratio = figures["big"] / figures["naive"]
        print(
            f"  {args.names} signatories, Letter layout: {figures['big']:.2f} s = "
            f"{ratio:.2f} x the naive {figures['naive']:.2f} s (target <= 0.25)"
        )
    else:
        print(f"  {args.names} signatories, Letter layout: {figures['big']:.2f} s")
    if cpus.get("bench-big"):
        best = min(cpus["bench-big"])
        print(
            f"  {args.names} signatories: CPU {best:.2f} s in all processes (web process and "
            f"{pdf.worker_count()} workers; the least of the runs), i.e. at best "
            f"{best / pdf.worker_count():.2f} s of wall-clock time on {pdf.worker_count()} "
            "idle cores"
        )
    print(f"  1,000 signatories: {figures['thousand']:.2f} s (target < 1.5 s)")
    print(f"  demo, warm (median of 5): {figures['demo'] * 1000:.0f} ms (target < 300 ms)")
    print(f"  repeat, unchanged (median of 5): {figures['repeat'] * 1000:.0f} ms (target < 50 ms)")


if __name__ == "__main__":
    main()
