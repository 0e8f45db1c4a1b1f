"""Module files: the `# Depends:` / `# Conflicts:` headers of mods-available/NAME.load, and plans
that enable or disable modules by symlinking them into mods-enabled/ (Debian's a2enmod/a2dismod).

Owns the layout of a ServerRoot's mods-available/ and mods-enabled/ and the rules for changing it.
Never knows click, terminals or prompts: it returns Messages and Plans and the caller prints them.
Runs only in the short-lived pyhttpd-enmod / pyhttpd-dismod / pyhttpd-query process, never in the
server.

Rules:
  1. Plan first, touch later. `plan_enable` / `plan_disable` only read the tree and simulate the
     result; `apply` makes the links. A refused plan (conflict, missing dependency, a link we do not
     own) therefore leaves the tree exactly as it was.
  2. Only relative symlinks `mods-enabled/X -> ../mods-available/X` are ours. A real file, or a link
     pointing elsewhere, is reported and never touched; a dangling link is removed.
  3. At most one MPM: enabling an mpm_* module while another one is enabled is a conflict even when
     no `# Conflicts:` header says so.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

AVAILABLE = "mods-available"
ENABLED = "mods-enabled"

# a2dismod's list: disabling one of these needs -f or the confirmation phrase.
ESSENTIAL_MODULES: frozenset[str] = frozenset(
    "alias auth_basic authn_file authz_host authz_user autoindex deflate dir env filter logio mime"
    " negotiation setenvif unixd version watchdog".split()
)
CONFIRMATION = "Yes, do as I say!"
ACTIVATE_HINT: tuple[str, str] = (
    "To activate the new configuration, you need to run:",
    "  pyhttpdctl restart",
)

_HEADER = re.compile(r"^# (Depends|Conflicts):\s+(.*?)\s*$")
_COMMENT_OR_BLANK = re.compile(r"^\s*(?:#.*)?$")


class Level(Enum):
    """How a message is shown: INFO is hidden by -q, NOTICE always prints, ERROR goes to stderr."""

    INFO = "info"
    NOTICE = "notice"
    ERROR = "error"


class LinkState(Enum):
    """What sits at mods-enabled/NAME.{load,conf} compared with the link we would make."""

    ABSENT = "absent"
    ENABLED = "enabled"  # our relative link, resolving to the mods-available file
    DANGLING = "dangling"  # a symlink to nothing
    FOREIGN = "foreign"  # a symlink that resolves somewhere else
    REAL_FILE = "real file"
    DIRECTORY = "directory"


@dataclass(frozen=True)
class Message:
    level: Level
    text: str


@dataclass(frozen=True)
class Action:
    """One filesystem change inside mods-enabled/: `target` set means symlink, None means unlink."""

    filename: str
    target: str | None


@dataclass
class Plan:
    """The simulated outcome of one command-line name: what to say, what to change, what to ask."""

    root: Path
    messages: list[Message] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    ok: bool = True
    essential: list[str] = field(default_factory=list)  # essential modules it would disable
    needs_restart: bool = False
    overrides: dict[str, bool] = field(default_factory=dict)  # module -> enabled after the plan

    def say(self, level: Level, text: str) -> None:
        self.messages.append(Message(level, text))

    def fail(self, text: str) -> bool:
        self.messages.append(Message(Level.ERROR, f"ERROR: {text}"))
        self.ok = False
        return False


def read_headers(path: Path) -> dict[str, list[str]]:
    """Parse the leading comment block only, as a2enmod does, so a LoadModule line ends the scan
    and a '# Depends:' further down (e.g. commented-out config) cannot change the dependencies."""
    headers: dict[str, list[str]] = {"Depends": [], "Conflicts": []}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return headers
    for line in text.splitlines():
        if not _COMMENT_OR_BLANK.match(line):
            break
        match = _HEADER.match(line)
        if match:
            headers[match.group(1)].extend(match.group(2).split())
    return headers


def module_headers(root: Path, name: str) -> dict[str, list[str]]:
    """Headers of a module, from mods-available, or from mods-enabled when only that copy exists."""
    path = root / AVAILABLE / f"{name}.load"
    return read_headers(path if path.is_file() else root / ENABLED / f"{name}.load")


def available_modules(root: Path) -> list[str]:
    """Names that can be enabled: every mods-available/*.load file, sorted."""
    return sorted(p.stem for p in (root / AVAILABLE).glob("*.load") if p.is_file())


def enabled_modules(root: Path) -> list[str]:
    """Names the server would load: every mods-enabled/*.load that resolves to a file, sorted."""
    return sorted(p.stem for p in (root / ENABLED).glob("*.load") if p.is_file())


def enabled_mpms(root: Path) -> list[str]:
    """The enabled mpm_* modules; more than one means the server's MPM is undefined."""
    return [name for name in enabled_modules(root) if name.startswith("mpm_")]


def link_state(root: Path, filename: str) -> LinkState:
    """Compare mods-enabled/FILENAME with the link we would create to mods-available/FILENAME."""
    link = root / ENABLED / filename
    if link.is_symlink():
        if not link.exists():
            return LinkState.DANGLING
        if link.resolve() == (root / AVAILABLE / filename).resolve():
            return LinkState.ENABLED
        return LinkState.FOREIGN
    if link.is_dir():
        return LinkState.DIRECTORY
    return LinkState.REAL_FILE if link.exists() else LinkState.ABSENT


def expand(root: Path, argument: str, enabling: bool) -> list[str]:
    """Turn one command-line argument into module names: strip .load/.conf, and treat wildcards as
    a glob over mods-available (enabling) or mods-enabled (disabling). No match keeps the literal
    name so the caller reports it as missing."""
    name = re.sub(r"\.(?:load|conf)$", "", argument)
    if not any(char in name for char in "*?["):
        return [name]
    if enabling:
        candidates = available_modules(root)
    else:
        candidates = sorted(p.stem for p in (root / ENABLED).glob("*.load"))
    return [c for c in candidates if fnmatch.fnmatchcase(c, name)] or [name]


def plan_enable(root: Path, name: str) -> Plan:
    """Plan enabling NAME and, first, its dependencies; refuse on any conflict."""
    plan = Plan(root)
    _enable(plan, name, set())
    return plan


def plan_disable(root: Path, name: str, force: bool = False) -> Plan:
    """Plan disabling NAME; with force, the enabled modules that depend on it go first."""
    plan = Plan(root)
    _disable(plan, name, force, set())
    return plan


def apply(plan: Plan) -> list[Message]:
    """Carry out a successful plan's link changes in order; return the error that stopped it, if
    any. Nothing happens for a refused plan, which is what makes refusals side-effect free."""
    if not plan.ok:
        return []
    enabled_dir = plan.root / ENABLED
    for action in plan.actions:
        path = enabled_dir / action.filename
        try:
            if action.target is None:
                path.unlink()
            else:
                enabled_dir.mkdir(exist_ok=True)
                os.symlink(action.target, path)
        except OSError as err:
            verb = "remove" if action.target is None else "create"
            return [Message(Level.ERROR, f"ERROR: Could not {verb} {ENABLED}/{path.name}: {err}")]
    return []


def _state(plan: Plan, name: str, suffix: str) -> LinkState:
    """Link state as it will be once the actions planned so far have run."""
    filename = f"{name}{suffix}"
    if name in plan.overrides:
        linked = suffix == ".load" or (plan.root / AVAILABLE / filename).is_file()
        return LinkState.ENABLED if plan.overrides[name] and linked else LinkState.ABSENT
    return link_state(plan.root, filename)


def _enabled_set(plan: Plan) -> set[str]:
    enabled = set(enabled_modules(plan.root))
    enabled |= {name for name, on in plan.overrides.items() if on}
    return enabled - {name for name, on in plan.overrides.items() if not on}


def _valid(name: str) -> bool:
    return bool(name) and "/" not in name and not name.startswith(".")


def _check_ours(plan: Plan, filename: str, state: LinkState) -> bool:
    """Refuse to touch anything in mods-enabled that is not a link of ours (rule 2)."""
    if state is LinkState.FOREIGN:
        target = f"../{AVAILABLE}/{filename}"
        return plan.fail(
            f"Config file {filename} exists but does not point to {target}, not touching it"
        )
    if state in (LinkState.REAL_FILE, LinkState.DIRECTORY):
        return plan.fail(f"Config file {filename} is a {state.value}, not touching it")
    return True


def _link(plan: Plan, filename: str, state: LinkState) -> None:
    if state is LinkState.DANGLING:
        _unlink(plan, filename, state)
    plan.actions.append(Action(filename, f"../{AVAILABLE}/{filename}"))


def _unlink(plan: Plan, filename: str, state: LinkState) -> None:
    if state is LinkState.DANGLING:
        plan.say(Level.INFO, f"removing dangling symlink {ENABLED}/{filename}")
    plan.actions.append(Action(filename, None))


def _enable(plan: Plan, name: str, in_progress: set[str]) -> bool:
    if name in in_progress:  # a dependency cycle: the outer call is already enabling it
        return True
    load, conf = f"{name}.load", f"{name}.conf"
    if not _valid(name) or not (plan.root / AVAILABLE / load).is_file():
        if _valid(name) and _state(plan, name, ".load") is LinkState.DANGLING:
            plan.say(Level.INFO, f"{ENABLED}/{load} is a dangling symlink!")
        return plan.fail(f"Module {name} does not exist!")
    has_conf = (plan.root / AVAILABLE / conf).is_file()
    load_state = _state(plan, name, ".load")
    conf_state = _state(plan, name, ".conf") if has_conf else LinkState.ABSENT
    if not (_check_ours(plan, load, load_state) and _check_ours(plan, conf, conf_state)):
        return False
    if load_state is LinkState.ENABLED:
        if has_conf and conf_state is not LinkState.ENABLED:
            plan.say(Level.NOTICE, f"Enabling config file {conf}.")
            _link(plan, conf, conf_state)
            plan.needs_restart = True
        plan.say(Level.INFO, f"Module {name} already enabled")
        return True
    in_progress.add(name)
    headers = module_headers(plan.root, name)
    for dependency in headers["Depends"]:
        plan.say(Level.INFO, f"Considering dependency {dependency} for {name}:")
        if not _enable(plan, dependency, in_progress):
            return plan.fail(f"Could not enable dependency {dependency} for {name}, aborting")
    blocking: list[str] = []
    for conflict in headers["Conflicts"]:
        plan.say(Level.INFO, f"Considering conflict {conflict} for {name}:")
        if _valid(conflict) and _state(plan, conflict, ".load") is LinkState.ENABLED:
            blocking.append(conflict)
    if name.startswith("mpm_"):  # rule 3
        blocking += sorted(m for m in _enabled_set(plan) if m.startswith("mpm_") and m != name)
    for conflict in dict.fromkeys(blocking):
        plan.fail(
            f"Module {conflict} is enabled - cannot proceed due to conflicts."
            " It needs to be disabled first!"
        )
    if blocking:
        return False
    plan.say(Level.NOTICE, f"Enabling module {name}.")
    _link(plan, load, load_state)
    if has_conf and conf_state is not LinkState.ENABLED:
        _link(plan, conf, conf_state)
    plan.overrides[name] = True
    plan.needs_restart = True
    return True


def _disable(plan: Plan, name: str, force: bool, in_progress: set[str]) -> bool:
    if name in in_progress:
        return True
    load, conf = f"{name}.load", f"{name}.conf"
    load_state = _state(plan, name, ".load") if _valid(name) else LinkState.ABSENT
    conf_state = _state(plan, name, ".conf") if _valid(name) else LinkState.ABSENT
    if not _valid(name) or not (plan.root / AVAILABLE / load).is_file():
        if load_state is not LinkState.DANGLING:
            return plan.fail(f"Module {name} does not exist!")
        _unlink(plan, load, load_state)
        if conf_state is LinkState.DANGLING:
            _unlink(plan, conf, conf_state)
        return True
    if not (_check_ours(plan, load, load_state) and _check_ours(plan, conf, conf_state)):
        return False
    if load_state is not LinkState.ENABLED:
        if load_state is LinkState.DANGLING:
            _unlink(plan, load, load_state)
        if conf_state in (LinkState.ENABLED, LinkState.DANGLING):
            plan.say(Level.NOTICE, f"Disabling stale config file {conf}.")
            _unlink(plan, conf, conf_state)
        else:
            plan.say(Level.INFO, f"Module {name} already disabled")
        return True
    in_progress.add(name)
    enabled = _enabled_set(plan) - {name}
    dependents = sorted(m for m in enabled if name in module_headers(plan.root, m)["Depends"])
    if dependents and not force:
        return plan.fail(
            f"The following modules depend on {name} and need to be disabled first: "
            + " ".join(dependents)
        )
    for dependent in dependents:
        if not _disable(plan, dependent, force, in_progress):
            return False
    if name in ESSENTIAL_MODULES:
        plan.essential.append(name)
    _unlink(plan, load, load_state)
    if conf_state in (LinkState.ENABLED, LinkState.DANGLING):
        _unlink(plan, conf, conf_state)
    plan.say(Level.NOTICE, f"Module {name} disabled.")
    plan.overrides[name] = False
    plan.needs_restart = True
    return True
