"""Profiles and rule files: shipped packs, user rules, indicators, and every kind of error."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from proxyhunt.errors import RuleError, UsageError
from proxyhunt.rules import list_profiles, load_profile, load_rules
from proxyhunt.rules.loader import derive_detection_type

SRC = Path(__file__).resolve().parents[1] / "src"
SEED_ORDER = ("is_proxy_tool", "is_netsh_proxy", "is_ssh_tunnel", "is_portfwd")


def write_rule(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def rule_text(title: str, extra: str = "", rule_id: str | None = None) -> str:
    id_line = f"id: {rule_id}\n" if rule_id else ""
    return (
        f"title: {title}\n{id_line}logsource:\n  category: process_creation\n"
        "detection:\n  sel:\n    CommandLine|contains: tunnel\n  condition: sel\n" + extra
    )


class TestProfiles:
    def test_shipped_profiles(self) -> None:
        assert {"default", "seed"} <= set(list_profiles())

    def test_seed_profile(self) -> None:
        profile = load_profile("seed")
        assert profile.indicator_names == SEED_ORDER
        assert profile.packs == ("seed",)
        assert profile.indicators[0].detection_type == "KnownProxyTool"

    def test_unknown_profile_names_the_shipped_ones(self) -> None:
        with pytest.raises(UsageError, match="unknown profile 'nope'.*default.*seed"):
            load_profile("nope")

    def test_profile_from_path_with_pack_folder(self, tmp_path: Path) -> None:
        write_rule(
            tmp_path / "mypack", "r.yml", rule_text("mine", "proxyhunt: {indicator: is_x}\n")
        )
        profile_path = write_rule(
            tmp_path,
            "p.yml",
            """\
            name: mine
            packs: [mypack]
            indicators:
              - {name: is_x, detection_type: X}
              - {name: is_proxy_tool}
            """,
        )
        profile = load_profile(str(profile_path))
        assert profile.packs == (str((tmp_path / "mypack").resolve()),)
        assert profile.indicators[1].detection_type == "ProxyTool"
        rules, _ = load_rules(profile)
        assert "mine" in {rule.title for rule in rules}

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ("name: x\npacks: [seed]\nindicators: [{name: is_a}]\nscore: sum\n", "score 'sum'"),
            ("name: x\npacks: [nowhere]\nindicators: [{name: is_a}]\n", "pack 'nowhere'"),
            ("name: x\npacks: [seed]\nindicators: [{name: is_a}, {name: is_a}]\n", "twice: is_a"),
            ("name: x\npacks: [seed]\nindicators: [{name: Bad Name}]\n", "must look like"),
            ("- just a list\n", "expected a mapping"),
            ("name: [x\n", "invalid YAML:2:1"),
        ],
    )
    def test_bad_profiles(self, tmp_path: Path, body: str, message: str) -> None:
        path = write_rule(tmp_path, "p.yml", body)
        with pytest.raises(RuleError, match=re.escape(message)):
            load_profile(str(path))


class TestRules:
    def test_seed_pack(self) -> None:
        profile = load_profile("seed")
        rules, returned = load_rules(profile)
        assert len(rules) == 4
        assert returned == profile
        assert all(rule.source is not None for rule in rules)

    def test_user_rule_without_indicator_is_custom(self, tmp_path: Path) -> None:
        path = write_rule(tmp_path, "custom.yml", rule_text("my custom"))
        rules, profile = load_rules(load_profile("seed"), [str(path)])
        custom = next(rule for rule in rules if rule.title == "my custom")
        assert custom.custom_attributes["proxyhunt"]["indicator"] == "is_custom_rule"
        assert profile.indicator_names == (*SEED_ORDER, "is_custom_rule")
        assert profile.indicators[-1].detection_type == "CustomRule"

    def test_user_rule_with_new_indicator_extends_profile(self, tmp_path: Path) -> None:
        write_rule(
            tmp_path, "a/one.yml", rule_text("one", "proxyhunt: {indicator: is_reverse_ssh}\n")
        )
        write_rule(
            tmp_path,
            "b/two.yaml",
            rule_text("two", "proxyhunt: {indicator: is_frp, detection_type: FastReverseProxy}\n"),
        )
        write_rule(tmp_path, "b/ignored.txt", "not a rule")
        rules, profile = load_rules(load_profile("seed"), [str(tmp_path)])
        assert {"one", "two"} <= {rule.title for rule in rules}
        assert profile.indicator_names == (*SEED_ORDER, "is_reverse_ssh", "is_frp")
        types = {spec.name: spec.detection_type for spec in profile.indicators}
        assert (types["is_reverse_ssh"], types["is_frp"]) == ("ReverseSsh", "FastReverseProxy")

    def test_user_rule_with_known_indicator_keeps_profile(self, tmp_path: Path) -> None:
        path = write_rule(tmp_path, "r.yml", rule_text("t", "proxyhunt: {indicator: is_portfwd}\n"))
        _, profile = load_rules(load_profile("seed"), [str(path)])
        assert profile == load_profile("seed")

    def test_missing_user_path(self, tmp_path: Path) -> None:
        with pytest.raises(UsageError, match="no such file"):
            load_rules(load_profile("seed"), [str(tmp_path / "absent.yml")])

    def test_derive_detection_type(self) -> None:
        assert derive_detection_type("is_ssh_tunnel") == "SshTunnel"
        assert derive_detection_type("custom") == "Custom"


class TestRuleErrors:
    def load(self, tmp_path: Path, files: dict[str, str]) -> str:
        for name, body in files.items():
            write_rule(tmp_path, name, body)
        with pytest.raises(RuleError) as caught:
            load_rules(load_profile("seed"), [str(tmp_path)])
        return str(caught.value)

    def test_yaml_syntax_error_has_location(self, tmp_path: Path) -> None:
        message = self.load(tmp_path, {"bad.yml": "title: x\ndetection: [unclosed\n"})
        assert re.search(r"bad\.yml:3:1: invalid YAML", message)

    def test_unknown_modifier(self, tmp_path: Path) -> None:
        body = rule_text("t").replace("|contains", "|sometimes")
        message = self.load(tmp_path, {"mod.yml": body})
        assert "mod.yml" in message and "Unknown modifier" in message

    def test_undefined_condition_identifier(self, tmp_path: Path) -> None:
        body = rule_text("t").replace("condition: sel", "condition: sel and missing")
        message = self.load(tmp_path, {"cond.yml": body})
        assert "cond.yml" in message and "'missing' not defined" in message

    def test_duplicate_id_names_both_files(self, tmp_path: Path) -> None:
        seed_id = "0c7a8a52-3f0e-4d0e-9a52-6a1f0e1b0001"
        message = self.load(tmp_path, {"dup.yml": rule_text("dup", rule_id=seed_id)})
        assert f"dup.yml: rule id {seed_id} is already used by" in message
        assert "proxy_tool.yml" in message

    def test_duplicate_key_rejected(self, tmp_path: Path) -> None:
        message = self.load(tmp_path, {"key.yml": rule_text("t") + "title: again\n"})
        assert "Duplicate key 'title'" in message

    def test_yaml_alias_rejected(self, tmp_path: Path) -> None:
        body = rule_text("t").replace("tunnel", "&a tunnel") + "fields: [*a]\n"
        message = self.load(tmp_path, {"alias.yml": body})
        assert "alias.yml: YAML aliases" in message

    def test_python_tags_are_not_constructed(self, tmp_path: Path) -> None:
        marker = tmp_path / "pwned"
        body = rule_text("t") + f"x: !!python/object/apply:os.system ['touch {marker}']\n"
        message = self.load(tmp_path, {"evil.yml": body})
        assert "evil.yml" in message and "invalid YAML" in message
        assert not marker.exists()

    def test_correlation_rule_rejected(self, tmp_path: Path) -> None:
        body = (
            rule_text("base") + "name: base\n---\ntitle: burst\ncorrelation:\n  type: event_count\n"
            "  rules: [base]\n  group-by: [User]\n  timespan: 5m\n  condition: {gte: 3}\n"
        )
        message = self.load(tmp_path, {"corr.yml": body})
        assert "'burst' is a correlation rule" in message

    def test_pack_rule_with_indicator_outside_profile(self, tmp_path: Path) -> None:
        write_rule(tmp_path / "pack", "r.yml", rule_text("t", "proxyhunt: {indicator: is_x}\n"))
        profile_path = write_rule(
            tmp_path, "p.yml", "name: p\npacks: [pack]\nindicators: [{name: is_y}]\n"
        )
        with pytest.raises(RuleError, match="indicator is_x is not in profile p"):
            load_rules(load_profile(str(profile_path)))

    def test_every_problem_reported_at_once(self, tmp_path: Path) -> None:
        message = self.load(
            tmp_path,
            {
                "a.yml": "title: x\ndetection: [unclosed\n",
                "b.yml": rule_text("t").replace("|contains", "|sometimes"),
                "c.yml": rule_text("t", "proxyhunt: [not, a, mapping]\n"),
                "d.yml": rule_text("fine"),
            },
        )
        assert message.startswith("3 problem(s)")
        for name in ("a.yml", "b.yml", "c.yml"):
            assert name in message
        assert "d.yml" not in message


def test_no_unsafe_yaml_loading_in_the_package() -> None:
    """Every YAML load in proxyhunt uses a safe loader; lists every offender at once."""
    unsafe = re.compile(
        r"yaml\.(unsafe_load|full_load|load_all|load)\((?![^)]*(SafeLoader|SigmaYAMLLoader))"
        r"|Loader\s*=\s*yaml\.(Unsafe|Full)?Loader\b"
    )
    offenders = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in SRC.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if unsafe.search(line)
    ]
    assert offenders == []
