"""The reference's own verdicts on the real netsh portproxy samples, and silence elsewhere.

Under ``--profile seed`` proxyhunt must give exactly the rows the reference LogScale query
would give (worked out by hand from its four regexes below); under ``default`` it must also
report what the reference misses, and both stay silent on the netsh trace/helper/firewall
commands and on 565 events of other attacks.
"""

from __future__ import annotations

from pathlib import Path

from proxyhunt.pipeline import scan

SAMPLES = "EVTX-ATTACK-SAMPLES"
NETSH_RDP = f"{SAMPLES}/Defense Evasion/de_portforward_netsh_rdp_sysmon_13_1.evtx"
PANACHE_EDR = f"{SAMPLES}/AutomatedTestingTools/panache_sysmon_vs_EDRTestingScript.evtx"
PANACHE_ART = f"{SAMPLES}/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx"

ADD = (
    "interface portproxy add v4tov4 listenport=8080 listenaddress=0.0.0.0 connectport=8000 "
    "connectaddress=192.168.1.1"
)
DELETE = "interface portproxy delete v4tov4 listenport=8080 listenaddress=0.0.0.0"

# (image base name, command line) -> (detection_type, score, flags in reference order)
REFERENCE_ROWS = {
    # netsh.exe + portproxy + \badd\b, and listenport= etc.: two indicators.
    ("netsh.exe", f"netsh  {ADD}"): ("NetshPortProxy", 2, ("0", "1", "0", "1")),
    # delete: no "add" word, but listenport=/listenaddress= still set is_portfwd.
    ("netsh.exe", f"netsh  {DELETE}"): ("PortForwardCommand", 1, ("0", "0", "0", "1")),
    # The cmd.exe parents carry the same arguments; the image is not netsh.exe.
    ("cmd.exe", f"cmd  /c netsh {ADD}"): ("PortForwardCommand", 1, ("0", "0", "0", "1")),
    ("cmd.exe", f"cmd  /c netsh {DELETE}"): ("PortForwardCommand", 1, ("0", "0", "0", "1")),
    # The abbreviated `netsh I p a v l=... c=...` has none of the reference's words: no row.
}
FLAGS = ("is_proxy_tool", "is_netsh_proxy", "is_ssh_tunnel", "is_portfwd")


def _rows(corpus: Path, profile: str, *paths: str) -> dict[tuple[str, str], tuple]:
    result = scan([str(corpus / p) for p in paths], profile=profile)
    assert not result.diagnostics.partial, result.diagnostics.warnings
    rows = {}
    for hit in result.hits:
        image = (hit.event.fields.get("Image") or "").rsplit("\\", 1)[-1].casefold()
        key = (image, hit.event.fields.get("CommandLine") or "")
        flags = tuple("1" if hit.indicators[name] else "0" for name in FLAGS)
        rows[key] = (hit.detection_type, hit.suspicion_score, flags)
    return rows


def test_seed_gives_exactly_the_reference_rows_on_the_netsh_samples(corpus: Path) -> None:
    assert _rows(corpus, "seed", NETSH_RDP, PANACHE_EDR) == REFERENCE_ROWS


def test_default_also_reports_abbreviated_netsh_and_the_portproxy_registry(corpus: Path) -> None:
    result = scan([str(corpus / NETSH_RDP)], profile="default")
    types = sorted((h.event.category, h.detection_type) for h in result.hits)

    assert types == [
        ("process_creation", "NetshPortProxy"),
        ("registry_set", "PortProxyRegistry"),
    ]
    assert any("portproxy 1.2.3.4:8001 -> 1.2.3.5:3389" in h.forwards for h in result.hits)


def test_netsh_trace_helper_and_firewall_commands_stay_silent(corpus: Path) -> None:
    for profile in ("seed", "default"):
        result = scan([str(corpus / PANACHE_EDR)], profile=profile)
        commands = " | ".join(h.event.fields.get("CommandLine") or "" for h in result.hits)

        assert "trace" not in commands
        assert "add helper" not in commands
        assert "advfirewall" not in commands


def test_565_events_of_other_attacks_give_no_hit(corpus: Path) -> None:
    for profile in ("seed", "default"):
        result = scan([str(corpus / PANACHE_ART)], profile=profile)

        assert result.events == 565
        assert result.hits == [], [h.event.fields.get("CommandLine") for h in result.hits]
