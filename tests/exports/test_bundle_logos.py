"""Letter bundles carry the signatories' logos: exported as the stored PNG (base64),
imported after the same checks as an upload (size, type by content, pixels), re-encoded
under a new name and stored once the import has committed; a bad logo refuses the bundle."""

from __future__ import annotations

import base64
import copy
import io
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from signon.audit.verify import verify_letter
from signon.core import transaction
from signon.core.storage import storage
from signon.exports.bundles.operations import (
    MAX_LOGO_BASE64,
    BundleError,
    export_letter,
    import_letter,
)
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.approvals import operations
from signon.signatures.models import Signature
from signon.signatures.uploads import logo_name, process_logo, save_logo
from tests.factories import make_letter, make_user
from tests.signatures.factories import image_bytes, png_bomb

pytestmark = pytest.mark.usefixtures("app_context")


def _letter_with_logo() -> Letter:
    letter = make_letter(make_user(), title="Logos")
    logo = process_logo(io.BytesIO(image_bytes(60, 30, color=(10, 120, 200))))
    save_logo(logo)
    details = operations.SignatoryDetails(name="With Logo NGO")
    operations.approve(letter, letter.head(), details, email=None, logo_filename=logo.filename)
    operations.approve(
        letter, letter.head(), operations.SignatoryDetails(name="No Logo"), email=None
    )
    return letter


def _signatures(letter: Letter) -> dict[str, Signature]:
    return {
        s.name: s
        for s in db.session.scalars(select(Signature).where(Signature.letter_id == letter.id))
    }


def _pixels(png: bytes) -> Any:
    with Image.open(io.BytesIO(png)) as image:
        return image.size, image.convert("RGB").getpixel((5, 5))


@pytest.mark.parametrize("approves_on_import", [False, True])
def test_logos_go_out_with_the_bundle_and_come_back_stored(approves_on_import: bool) -> None:
    source = _letter_with_logo()
    bundle = export_letter(source)
    with_logo, without = bundle["signatories"]
    original = storage().get(logo_name(_signatures(source)["With Logo NGO"].logo_filename) or "")
    assert base64.b64decode(with_logo["logo_base64"]) == original
    assert without["logo_base64"] is None
    if approves_on_import:  # a list without approval records: approved on import
        for item in bundle["signatories"]:
            for key in ("approved_revision", "status", "events"):
                item.pop(key)
    imported = import_letter(copy.deepcopy(bundle), make_user()).letter
    signature = _signatures(imported)["With Logo NGO"]
    name = logo_name(signature.logo_filename)
    assert (
        name is not None
        and signature.logo_filename != _signatures(source)["With Logo NGO"].logo_filename
    )  # a new name, made here
    assert not storage().exists(name)  # written after the commit only
    transaction.commit()
    assert _pixels(storage().get(name)) == _pixels(original)
    assert _signatures(imported)["No Logo"].logo_filename is None
    report = verify_letter(imported.id)  # the audit records the logo as the row holds it
    assert report.intact and not report.findings, report
    assert export_letter(imported)["signatories"][0]["logo_base64"] is not None


@pytest.mark.parametrize(
    ("logo", "problem"),
    [
        (base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode(), "not a PNG"),
        ("not base64 at all!", "is not base64"),
        (base64.b64encode(png_bomb()).decode(), "too large once decoded"),
        ("A" * (MAX_LOGO_BASE64 + 4), "at most"),
        (12, "at most"),
    ],
)
def test_a_bad_logo_refuses_the_bundle(logo: Any, problem: str) -> None:
    bundle = export_letter(_letter_with_logo())
    bundle["signatories"][1]["logo_base64"] = logo
    letters = db.session.scalars(select(Letter.id)).all()
    with pytest.raises(BundleError) as refused:
        import_letter(bundle, make_user())
    assert any("signatories[1]" in p and problem in p for p in refused.value.problems), (
        refused.value.problems
    )
    assert db.session.scalars(select(Letter.id)).all() == letters
