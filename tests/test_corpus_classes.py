"""The real public corpus, read through the real pipeline: every TP file gives a hit under the
default profile, no HN or BENIGN file gives any. Offenders are listed all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxyhunt.pipeline import scan

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

pytestmark = pytest.mark.corpus


def manifest_classes() -> list[tuple[str, str]]:
    """(local path, class) for every data file of the corpus MANIFEST."""
    rows: list[tuple[str, str]] = []
    for line in (CORPUS / "MANIFEST.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) < 10 or cells[1] in ("", "local path") or cells[1].startswith("---"):
            continue
        rows.append((cells[1], cells[8]))
    return rows


def files_of(prefixes: tuple[str, ...]) -> list[str]:
    return [path for path, cls in manifest_classes() if cls.startswith(prefixes)]


@pytest.fixture(scope="module")
def corpus_dir() -> Path:
    if not (CORPUS / "MANIFEST.md").is_file():
        pytest.skip(f"shared corpus not found at {CORPUS} (it lives beside the repository)")
    return CORPUS


def hits_by_file(corpus_dir: Path, paths: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in paths:
        result = scan([str(corpus_dir / path)], profile="default")
        found[path] = [f"{h.detection_type} {h.event.locator}" for h in result.hits]
    return found


def test_every_true_positive_file_gives_a_hit(corpus_dir: Path) -> None:
    # "TP-context" files corroborate a tunnel seen elsewhere (an RDP logon from 127.0.0.1);
    # the default pack does not claim them, so only plain TP classes are required here.
    positives = [p for p in files_of(("TP ",)) if (corpus_dir / p).is_file()]
    assert positives, "the MANIFEST lists no TP file"
    missed = [path for path, hits in hits_by_file(corpus_dir, positives).items() if not hits]
    assert not missed, "TP files without any hit:\n" + "\n".join(missed)


def test_no_hard_negative_or_benign_file_gives_a_hit(corpus_dir: Path) -> None:
    negatives = [p for p in files_of(("HN", "BENIGN", "FORMAT")) if (corpus_dir / p).is_file()]
    assert negatives, "the MANIFEST lists no HN/BENIGN file"
    offenders = {p: h for p, h in hits_by_file(corpus_dir, negatives).items() if h}
    lines = [f"{path}: {', '.join(hits[:5])}" for path, hits in offenders.items()]
    assert not offenders, "hits on HN/BENIGN files:\n" + "\n".join(lines)


def test_true_positive_files_give_the_expected_detection_types(corpus_dir: Path) -> None:
    expected = {
        "EVTX-ATTACK-SAMPLES/Defense Evasion/de_portforward_netsh_rdp_sysmon_13_1.evtx": {
            "NetshPortProxy",
            "PortProxyRegistry",
        },
        "EVTX-ATTACK-SAMPLES/AutomatedTestingTools/panache_sysmon_vs_EDRTestingScript.evtx": {
            "NetshPortProxy",
            "NetshPortProxyRemoval",
            "PortProxyRegistry",
            "PortProxyRegistryRemoval",
        },
        "Security-Datasets/datasets/atomic/windows/other/aptsimulator_cobaltstrike.zip": {
            "CobaltStrikePipe"
        },
    }
    wrong = []
    for path, types in expected.items():
        got = {hit.detection_type for hit in scan([str(corpus_dir / path)]).hits}
        if got != types:
            wrong.append(f"{path}: expected {sorted(types)}, got {sorted(got)}")
    assert not wrong, "\n".join(wrong)
