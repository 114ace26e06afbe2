"""The exported Sigma pack loads with pySigma and passes the chosen validators offline."""

from __future__ import annotations

import io
import zipfile

import pytest
from sigma.collection import SigmaCollection
from sigma.plugins import InstalledSigmaPlugins
from sigma.validation import SigmaValidator

from proxyhunt.cli.main import main
from proxyhunt.export import export_text, load_detection

# pySigma's built-in validators, minus: attacktag/cartag/d3_fendtag (they download MITRE data
# over the network, which tests must not do), namespace_tag (it rejects our own
# `proxyhunt.<indicator>` tag namespace by design) and duplicate_filename/filename_length
# (they need file paths, checked separately below).
VALIDATORS = (
    "all_of_them_condition", "dangling_condition", "dangling_detection",
    "them_condition_with_single_detection", "fieldname_logsource",
    "specific_instead_of_generic_logsource", "custom_attributes", "duplicate_references",
    "duplicate_title", "identifier_existence", "identifier_uniqueness",
    "invalid_modifier_combinations", "cvetag", "detection_tag", "duplicate_tag", "stptag",
    "tlptag", "tlpv1_tag", "tlpv2_tag", "tag_format", "control_character", "double_wildcard",
    "escaped_wildcard", "number_as_string", "wildcards_instead_of_modifiers",
)  # fmt: skip


@pytest.mark.parametrize("profile", ["seed", "default"])
def test_zip_rules_load_and_validate(profile):
    det = load_detection(profile)
    archive = zipfile.ZipFile(io.BytesIO(export_text(det, "sigma")))
    texts = [archive.read(n).decode() for n in archive.namelist() if n.endswith(".yml")]
    assert len(texts) == len(det.rules)
    assert any(n.endswith("SCORING.md") for n in archive.namelist())

    collection = SigmaCollection.from_yaml("\n---\n".join(texts))
    assert not collection.errors
    available = InstalledSigmaPlugins.autodiscover().validators
    validator = SigmaValidator([available[name] for name in VALIDATORS])
    issues = validator.validate_rules(collection.rules)
    assert not issues, "\n".join(str(issue) for issue in issues)
    for rule, text in zip(collection.rules, texts, strict=True):
        assert "proxyhunt:" not in text.split("tags:")[0]  # attribute moved into a tag
        assert any(str(tag).startswith("proxyhunt.is_") for tag in rule.tags)


def test_zip_is_reproducible():
    det = load_detection("seed")
    assert export_text(det, "sigma") == export_text(det, "sigma")


def test_cli_writes_a_folder(tmp_path):
    out = tmp_path / "pack"
    assert main(["-q", "export", "--target", "sigma", "--profile", "seed", "-o", f"{out}/"]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert "SCORING.md" in written and len(written) == 5


def test_cli_writes_a_query(tmp_path):
    out = tmp_path / "q.cql"
    assert main(["-q", "export", "--target", "logscale", "--profile", "seed", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("// proxyhunt ")
