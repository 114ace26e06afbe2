"""Names a rule gives its indicator and detection type end up in every output and export."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxyhunt.cli import exitcodes
from proxyhunt.cli.main import main
from proxyhunt.errors import RuleError
from proxyhunt.pipeline import Detector

RULE = """
title: my tunnel tool
id: 3b6f1f5e-7d1a-4a55-9d43-5d1c0a6b2f01
status: experimental
logsource: {{category: process_creation}}
proxyhunt: {{indicator: is_my_tool, detection_type: {detection_type}}}
detection:
  sel: {{Image|endswith: '\\\\mytool.exe'}}
  condition: sel
level: high
"""


def _rule(tmp_path: Path, detection_type: str) -> Path:
    path = tmp_path / "rule.yml"
    path.write_text(RULE.format(detection_type=detection_type))
    return path


@pytest.mark.parametrize(
    "detection_type",
    ['"Evil\\ninjected: query"', '"A B"', '"x\\u001b[2J"', '"<b>html</b>"', "'1Leading'"],
)
def test_detection_types_that_are_not_one_word_are_refused(
    tmp_path: Path, detection_type: str
) -> None:
    with pytest.raises(RuleError, match="detection_type"):
        Detector.load("default", [str(_rule(tmp_path, detection_type))])


def test_a_one_word_detection_type_extends_the_profile(tmp_path: Path) -> None:
    detector = Detector.load("default", [str(_rule(tmp_path, "MyTunnelTool"))])

    assert detector.profile.indicators[-1].detection_type == "MyTunnelTool"


def test_cli_exit_code_for_a_bad_rule_name(capsys, tmp_path: Path) -> None:
    code = main(["scan", "--rules", str(_rule(tmp_path, '"a\\nb"')), str(tmp_path)])

    assert code == exitcodes.RULES
    assert "detection_type" in capsys.readouterr().err
