"""The form of the import page: one uploaded letter bundle."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired

from signon.core.forms import BaseForm


class ImportBundleForm(BaseForm):
    bundle = FileField(
        "Letter bundle (JSON)",
        validators=[FileRequired("Choose the bundle file (.json) to import.")],
    )
