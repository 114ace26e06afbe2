"""Say what a proxy hit forwards where: ``listen 0.0.0.0:8080 -> 192.168.1.50:445 via ...``.

The rules say *that* a process is a proxy; an analyst next asks what listens where and what it
relays to. This module reads that off the evidence the event carries: netsh portproxy
arguments (in netsh's abbreviated syntax too), the PortProxy registry value, ssh/plink
forwarding specs, socat addresses, chisel remotes and netcat listeners. It only parses text;
nothing here decides whether an event is suspicious.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from proxyhunt.model import Event


@dataclass(frozen=True)
class Forward:
    """One forwarding: ``listen`` and ``target`` are ``host:port`` (or a word like ``socks``)."""

    kind: str  # local, remote, dynamic, portproxy, portproxy-removed, relay, listener
    listen: str
    target: str
    via: str = ""  # the SSH/tunnel server the traffic rides on, when known

    def __str__(self) -> str:
        text = f"{self.kind} {self.listen or '?'}"
        if self.target:
            text += f" -> {self.target}"
        return f"{text} via {self.via}" if self.via else text


def forwarding(event: Event) -> list[Forward]:
    """Every forwarding the event's evidence describes (empty when it says none)."""
    registry = _from_registry(event)
    if registry:
        return registry
    argv = split_command_line(event.fields.get("CommandLine") or "")
    if not argv:
        return []
    program = _basename(event.fields.get("Image") or argv[0])
    for names, parser in _PARSERS:
        if program in names or _basename(argv[0]) in names:
            return parser(argv[1:])
    return _by_arguments(argv[1:])


# -- command lines ---------------------------------------------------------------------------


def split_command_line(text: str) -> list[str]:
    """Split like Windows' argv rules for double quotes, which also suits POSIX argv joins."""
    args: list[str] = []
    current: list[str] = []
    quoted = False
    started = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            started = True
        elif ch.isspace() and not quoted:
            if started:
                args.append("".join(current))
                current, started = [], False
        else:
            current.append(ch)
            started = True
    if started:
        args.append("".join(current))
    return args


def _basename(path: str) -> str:
    name = path.replace("\\", "/").rsplit("/", 1)[-1].casefold()
    return name[:-4] if name.endswith(".exe") else name


# netsh's portproxy parameters in the order netsh resolves an abbreviation and positional
# values: `l=` is listenport, `c=` connectaddress, as the real corpus sample shows.
_NETSH_TAGS = ("listenport", "connectaddress", "connectport", "listenaddress", "protocol")
_NETSH_TYPES = ("v4tov4", "v4tov6", "v6tov4", "v6tov6")


def _netsh(args: list[str]) -> list[Forward]:
    words = [a.casefold() for a in args]
    kind_at = next((i for i, w in enumerate(words) if _is_netsh_type(w)), None)
    if kind_at is None:
        return []
    verb = words[kind_at - 1] if kind_at else ""
    values = _netsh_values(args[kind_at + 1 :])
    kind = "portproxy-removed" if "delete".startswith(verb) and verb else "portproxy"
    listen = _hostport(values.get("listenaddress", "*"), values.get("listenport", ""))
    target = _hostport(values.get("connectaddress", ""), values.get("connectport", ""))
    if kind == "portproxy-removed":
        target = ""
    return [Forward(kind, listen, target)]


def _is_netsh_type(word: str) -> bool:
    return any(t.startswith(word) for t in _NETSH_TYPES) and word.startswith("v")


def _netsh_values(args: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    position = 0
    for arg in args:
        key, sep, value = arg.partition("=")
        if sep:
            tag = next((t for t in _NETSH_TAGS if t.startswith(key.casefold()) and key), None)
            if tag:
                values[tag] = value
            continue
        while position < len(_NETSH_TAGS) and _NETSH_TAGS[position] in values:
            position += 1
        if position < len(_NETSH_TAGS):
            values[_NETSH_TAGS[position]] = arg
    return values


def _hostport(host: str, port: str) -> str:
    if not port:
        return host
    return f"{host}:{port}" if host else f"*:{port}"


# -- ssh and plink ---------------------------------------------------------------------------

_SSH_VALUE_FLAGS = set("BbcDEeFIiJLlmOoPpQRSWw") | {"pw", "i", "hostkey", "sshlog", "proxycmd"}


def _ssh(args: list[str]) -> list[Forward]:
    forwards: list[tuple[str, str]] = []
    server = ""
    for flag, value in _ssh_options(args):
        if flag in ("L", "R", "D"):
            forwards.append((flag, value))
        elif flag == "o":
            option, _, setting = value.replace("=", " ", 1).partition(" ")
            name = option.casefold()
            if name in ("localforward", "remoteforward", "dynamicforward"):
                forwards.append((name[0].upper(), setting.strip().replace(" ", ":", 1)))
        elif flag == "" and not server:
            server = value
    return [_ssh_forward(flag, spec, server) for flag, spec in forwards]


def _ssh_options(args: list[str]) -> Iterator[tuple[str, str]]:
    """(flag, value) pairs; ("", word) for a positional word. Handles -fNL8080:h:p clusters."""
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-") or arg == "-":
            yield "", arg
            continue
        if arg[1:] in _SSH_VALUE_FLAGS and len(arg) > 2:  # plink's -pw, -hostkey ...
            i += 1
            continue
        for j, flag in enumerate(arg[1:], start=1):
            if flag in _SSH_VALUE_FLAGS:
                value = arg[j + 1 :]
                if not value and i < len(args):
                    value = args[i]
                    i += 1
                yield flag, value
                break


def _ssh_forward(flag: str, spec: str, server: str) -> Forward:
    parts = _split_spec(spec)
    if flag == "D" or (flag == "R" and len(parts) <= 2):
        listen = ":".join(parts) if len(parts) == 2 else f"*:{parts[0]}"
        side = "remote " if flag == "R" else ""
        return Forward("dynamic", f"{side}{listen}", "socks", server)
    if len(parts) == 4:
        listen, target = f"{parts[0]}:{parts[1]}", f"{parts[2]}:{parts[3]}"
    elif len(parts) == 3:
        listen, target = f"*:{parts[0]}", f"{parts[1]}:{parts[2]}"
    else:
        listen, target = spec, ""
    kind = "local" if flag == "L" else "remote"
    return Forward(kind, listen, target, server)


def _split_spec(spec: str) -> list[str]:
    """``[bind:]port:host:hostport`` with IPv6 hosts in brackets kept whole."""
    parts: list[str] = []
    current = ""
    depth = 0
    for ch in spec:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == ":" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


# -- relays ----------------------------------------------------------------------------------


def _socat(args: list[str]) -> list[Forward]:
    addresses = [a for a in args if not a.startswith("-")]
    if len(addresses) < 2:
        return []
    first, second = (_socat_address(a) for a in addresses[:2])
    if second[0] and not first[0]:
        first, second = second, first
    return [Forward("relay", first[1], second[1])]


def _socat_address(address: str) -> tuple[bool, str]:
    """(is a listener, host:port or program) for one socat address."""
    head, _, rest = address.partition(":")
    kind = head.casefold()
    rest = rest.split(",", 1)[0]
    if kind.endswith("-listen") or kind.startswith("tcp-l") or kind.startswith("udp-l"):
        return True, f"*:{rest}"
    if kind in ("exec", "system"):
        return False, f"exec {rest}"
    return False, rest


def _netcat(args: list[str]) -> list[Forward]:
    listen = any(a.startswith("-") and "l" in a.lstrip("-") for a in args if len(a) <= 4)
    port = _value_after(args, ("-p",)) or next((a for a in args if a.isdigit()), "")
    program = _value_after(args, ("-e", "-c", "--exec", "--sh-exec", "--lua-exec"))
    if not listen or not port:
        return []
    return [Forward("listener", f"*:{port}", f"exec {program}" if program else "")]


def _value_after(args: list[str], flags: tuple[str, ...]) -> str:
    for i, arg in enumerate(args):
        if arg in flags and i + 1 < len(args):
            return args[i + 1]
        for flag in flags:
            if flag.startswith("--") and arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
    return ""


def _chisel(args: list[str]) -> list[Forward]:
    if not args or args[0].casefold() != "client":
        return []
    words = _chisel_words(args[1:])
    if not words:
        return []
    server, remotes = words[0], words[1:]
    return [_chisel_remote(remote, server) for remote in remotes]


# chisel client flags that take no value; every other --flag takes the next word.
_CHISEL_SWITCHES = {"--tls-skip-verify", "-v", "--verbose", "--help", "-h"}


def _chisel_words(args: list[str]) -> list[str]:
    words: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = "=" not in arg and arg not in _CHISEL_SWITCHES
        else:
            words.append(arg)
    return words


def _chisel_remote(remote: str, server: str) -> Forward:
    reverse = remote.upper().startswith("R:")
    parts = _split_spec(remote[2:] if reverse else remote)
    if parts[-1].casefold() == "socks":
        listen = parts[0] if len(parts) > 1 else "1080"
        return Forward("dynamic", f"{'remote ' if reverse else ''}*:{listen}", "socks", server)
    target = ":".join(parts[-2:]) if len(parts) >= 2 else remote
    listen = f"*:{parts[0]}" if len(parts) >= 3 else ""
    return Forward("remote" if reverse else "local", listen, target, server)


def _by_arguments(args: list[str]) -> list[Forward]:
    """A renamed binary: recognise chisel's client arguments, nothing riskier."""
    if args and args[0].casefold() == "client" and any(":" in a for a in args[1:]):
        return _chisel(args)
    return []


_PARSERS: tuple[tuple[frozenset[str], Callable[[list[str]], list[Forward]]], ...] = (
    (frozenset({"netsh"}), _netsh),
    (frozenset({"ssh", "plink", "autossh"}), _ssh),
    (frozenset({"socat"}), _socat),
    (frozenset({"nc", "ncat", "netcat", "nc64", "nc.traditional", "nc.openbsd"}), _netcat),
    (frozenset({"chisel"}), _chisel),
)


# -- registry --------------------------------------------------------------------------------


def _from_registry(event: Event) -> list[Forward]:
    target = event.fields.get("TargetObject") or ""
    marker = "\\portproxy\\"
    at = target.casefold().find(marker)
    if at < 0:
        return []
    parts = target[at + len(marker) :].split("\\")
    if len(parts) < 3:
        return []
    listen = parts[2].replace("/", ":", 1)
    if event.category == "registry_delete" or (event.fields.get("EventType") or "").startswith(
        "Delete"
    ):
        return [Forward("portproxy-removed", listen, "")]
    details = (event.fields.get("Details") or "").replace("/", ":", 1)
    return [Forward("portproxy", listen, details)]
