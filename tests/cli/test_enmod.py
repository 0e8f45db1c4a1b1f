"""pyhttpd-enmod / -dismod / -query as real subprocesses on a ServerRoot made in tmp_path.

The tools start as `python -c "from pyhttpd.cli.enmod import ...; ..._main()"`, so the tests work
before the console scripts are installed. Messages are Debian's a2enmod words, compared exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HINT = "To activate the new configuration, you need to run:\n  pyhttpdctl restart\n"
EVENT_ENABLED = (
    "ERROR: Module mpm_event is enabled - cannot proceed due to conflicts."
    " It needs to be disabled first!\n"
)

# name -> (.load text, .conf text or None)
MODULES: dict[str, tuple[str, str | None]] = {
    "mpm_event": (
        "# Conflicts: mpm_worker mpm_prefork\nLoadModule mpm_event_module mpm_event\n",
        "StartServers 2\n",
    ),
    "mpm_worker": (
        "# Conflicts: mpm_event mpm_prefork\nLoadModule mpm_worker_module mpm_worker\n",
        "StartServers 2\n",
    ),
    "mpm_prefork": (
        "# Conflicts: mpm_event mpm_worker\nLoadModule mpm_prefork_module mpm_prefork\n",
        None,
    ),
    "mpm_itk": ("LoadModule mpm_itk_module mpm_itk\n", None),
    "proxy": ("LoadModule proxy_module proxy\n", "ProxyVia On\n"),
    "proxy_http": ("# Depends: proxy\nLoadModule proxy_http_module proxy_http\n", None),
    "slotmem_shm": ("LoadModule slotmem_shm_module slotmem_shm\n", None),
    "proxy_balancer": (
        "# a comment first\n\n# Depends: proxy slotmem_shm\n"
        "LoadModule proxy_balancer_module proxy_balancer\n",
        None,
    ),
    "broken": ("# Depends: nosuchmod\nLoadModule broken_module broken\n", None),
    "late": ("LoadModule late_module late\n# Depends: proxy\n", None),
    "mime": ("LoadModule mime_module mime\n", "TypesConfig conf/mime.types\n"),
    "rewrite": ("LoadModule rewrite_module rewrite\n", None),
    "authn_core": ("LoadModule authn_core_module authn_core\n", None),
    "authn_file": ("LoadModule authn_file_module authn_file\n", None),
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    available = tmp_path / "mods-available"
    available.mkdir()
    (tmp_path / "mods-enabled").mkdir()
    for name, (load, conf) in MODULES.items():
        (available / f"{name}.load").write_text(load)
        if conf is not None:
            (available / f"{name}.conf").write_text(conf)
    return tmp_path


def run(
    tool: str,
    *args: str,
    root: Path | None = None,
    stdin: str = "",
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run pyhttpd-{tool} with `-d root` (unless root is None) and return the finished process."""
    env = {key: value for key, value in os.environ.items() if key != "PYHTTPD_ROOT"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra_env or {})
    code = f"from pyhttpd.cli.enmod import {tool}_main; {tool}_main()"
    argv = [sys.executable, "-c", code, *(["-d", str(root)] if root else []), *args]
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, env=env, cwd=REPO, timeout=60
    )


def enabled(root: Path) -> dict[str, str]:
    """mods-enabled as {filename: link target}, for before/after comparisons."""
    return {p.name: os.readlink(p) for p in sorted((root / "mods-enabled").iterdir())}


def link(root: Path, name: str) -> None:
    """Enable NAME by hand, as a2enmod would, to set up a tree without running the tool."""
    for filename in (f"{name}.load", f"{name}.conf"):
        if (root / "mods-available" / filename).exists():
            os.symlink(f"../mods-available/{filename}", root / "mods-enabled" / filename)


# -- enabling --------------------------------------------------------------------------------------


def test_enable_disable_round_trip_with_relative_links(root: Path) -> None:
    result = run("enmod", "proxy", root=root)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "Enabling module proxy.\n" + HINT,
        "",
    )
    assert enabled(root) == {
        "proxy.conf": "../mods-available/proxy.conf",
        "proxy.load": "../mods-available/proxy.load",
    }

    result = run("dismod", "proxy", root=root)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "Module proxy disabled.\n" + HINT,
        "",
    )
    assert enabled(root) == {}


def test_module_without_conf_links_only_load(root: Path) -> None:
    assert run("enmod", "rewrite.load", root=root).returncode == 0
    assert enabled(root) == {"rewrite.load": "../mods-available/rewrite.load"}


def test_conflict_refused_and_tree_untouched(root: Path) -> None:
    link(root, "mpm_event")
    before = enabled(root)
    result = run("enmod", "mpm_worker", root=root)
    assert result.returncode == 1
    assert result.stdout == (
        "Considering conflict mpm_event for mpm_worker:\n"
        "Considering conflict mpm_prefork for mpm_worker:\n"
    )
    assert result.stderr == EVENT_ENABLED
    assert enabled(root) == before


def test_every_conflict_is_reported(root: Path) -> None:
    link(root, "mpm_event")
    link(root, "mpm_prefork")  # an already broken tree: both are reported
    result = run("enmod", "mpm_worker", root=root)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        EVENT_ENABLED.strip(),
        EVENT_ENABLED.strip().replace("mpm_event", "mpm_prefork"),
    ]


def test_second_mpm_refused_without_conflicts_header(root: Path) -> None:
    link(root, "mpm_event")
    before = enabled(root)
    result = run("enmod", "mpm_itk", root=root)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", EVENT_ENABLED)
    assert enabled(root) == before


def test_switching_mpm(root: Path) -> None:
    link(root, "mpm_event")
    assert run("dismod", "mpm_event", root=root).returncode == 0
    result = run("enmod", "mpm_worker", root=root)
    assert result.returncode == 0
    assert result.stdout == (
        "Considering conflict mpm_event for mpm_worker:\n"
        "Considering conflict mpm_prefork for mpm_worker:\n"
        "Enabling module mpm_worker.\n" + HINT
    )
    assert run("query", "-M", root=root).stdout == "worker\n"


def test_already_enabled(root: Path) -> None:
    link(root, "mpm_event")
    result = run("enmod", "mpm_event", root=root)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "Module mpm_event already enabled\n",
        "",
    )


def test_missing_conf_link_is_added(root: Path) -> None:
    link(root, "proxy")
    (root / "mods-enabled" / "proxy.conf").unlink()
    result = run("enmod", "proxy", root=root)
    assert result.returncode == 0
    assert result.stdout == (
        "Enabling config file proxy.conf.\nModule proxy already enabled\n" + HINT
    )
    assert enabled(root)["proxy.conf"] == "../mods-available/proxy.conf"


def test_depends_enabled_first(root: Path) -> None:
    result = run("enmod", "proxy_balancer", root=root)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Considering dependency proxy for proxy_balancer:\n"
        "Enabling module proxy.\n"
        "Considering dependency slotmem_shm for proxy_balancer:\n"
        "Enabling module slotmem_shm.\n"
        "Enabling module proxy_balancer.\n" + HINT
    )
    assert set(enabled(root)) == {
        "proxy.load",
        "proxy.conf",
        "slotmem_shm.load",
        "proxy_balancer.load",
    }


def test_depends_already_enabled(root: Path) -> None:
    link(root, "proxy")
    result = run("enmod", "proxy_http", root=root)
    assert result.stdout == (
        "Considering dependency proxy for proxy_http:\n"
        "Module proxy already enabled\n"
        "Enabling module proxy_http.\n" + HINT
    )


def test_failed_dependency_aborts_without_changes(root: Path) -> None:
    result = run("enmod", "broken", root=root)
    assert result.returncode == 1
    assert result.stdout == "Considering dependency nosuchmod for broken:\n"
    assert result.stderr == (
        "ERROR: Module nosuchmod does not exist!\n"
        "ERROR: Could not enable dependency nosuchmod for broken, aborting\n"
    )
    assert enabled(root) == {}


def test_only_leading_comment_block_is_read(root: Path) -> None:
    result = run("enmod", "late", root=root)
    assert result.stdout == "Enabling module late.\n" + HINT
    assert enabled(root) == {"late.load": "../mods-available/late.load"}


def test_glob_argument(root: Path) -> None:
    result = run("enmod", "authn_*", root=root)
    assert result.returncode == 0
    assert result.stdout == "Enabling module authn_core.\nEnabling module authn_file.\n" + HINT
    assert set(enabled(root)) == {"authn_core.load", "authn_file.load"}
    result = run("dismod", "-f", "authn_*", root=root)
    assert result.stdout == "Module authn_core disabled.\nModule authn_file disabled.\n" + HINT
    assert enabled(root) == {}


def test_several_names_processed_in_order(root: Path) -> None:
    result = run("enmod", "rewrite", "nosuchmod", "slotmem_shm", root=root)
    assert result.returncode == 1
    assert result.stdout == "Enabling module rewrite.\nEnabling module slotmem_shm.\n" + HINT
    assert result.stderr == "ERROR: Module nosuchmod does not exist!\n"
    assert set(enabled(root)) == {"rewrite.load", "slotmem_shm.load"}


# -- disabling -------------------------------------------------------------------------------------


def test_dependents_block_disable(root: Path) -> None:
    link(root, "proxy")
    link(root, "proxy_http")
    before = enabled(root)
    result = run("dismod", "proxy", root=root)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        "ERROR: The following modules depend on proxy and need to be disabled first: proxy_http\n",
    )
    assert enabled(root) == before


def test_force_disables_dependents_first(root: Path) -> None:
    link(root, "proxy")
    link(root, "proxy_http")
    result = run("dismod", "-f", "proxy", root=root)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "Module proxy_http disabled.\nModule proxy disabled.\n" + HINT,
        "",
    )
    assert enabled(root) == {}


def test_already_disabled(root: Path) -> None:
    result = run("dismod", "rewrite", root=root)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "Module rewrite already disabled\n",
        "",
    )


def test_stale_conf_link_is_removed(root: Path) -> None:
    link(root, "proxy")
    (root / "mods-enabled" / "proxy.load").unlink()
    result = run("dismod", "proxy", root=root)
    assert (result.returncode, result.stdout) == (0, "Disabling stale config file proxy.conf.\n")
    assert enabled(root) == {}


ESSENTIAL_WARNING = (
    "WARNING: The following essential module will be disabled.\n"
    "This might result in unexpected behavior and should NOT be done\n"
    "unless you know exactly what you are doing!\n"
    " mime\n"
    "\n"
    "To continue type in the phrase 'Yes, do as I say!' or retry by passing '-f': "
)


def test_essential_module_confirmed(root: Path) -> None:
    link(root, "mime")
    result = run("dismod", "mime", root=root, stdin="Yes, do as I say!\n")
    assert result.returncode == 0
    assert result.stdout == ESSENTIAL_WARNING + "Module mime disabled.\n" + HINT
    assert enabled(root) == {}


@pytest.mark.parametrize("answer", ["yes\n", "Yes, do as I say\n", ""])
def test_essential_module_wrong_answer_aborts(root: Path, answer: str) -> None:
    link(root, "mime")
    before = enabled(root)
    result = run("dismod", "mime", root=root, stdin=answer)
    assert result.returncode == 1
    assert result.stdout == ESSENTIAL_WARNING + "Aborting\n"
    assert enabled(root) == before


def test_essential_module_forced_without_prompt(root: Path) -> None:
    link(root, "mime")
    result = run("dismod", "-f", "mime", root=root)
    assert (result.returncode, result.stdout) == (0, "Module mime disabled.\n" + HINT)


# -- errors and options ----------------------------------------------------------------------------


@pytest.mark.parametrize("tool", ["enmod", "dismod"])
def test_nonexistent_module(root: Path, tool: str) -> None:
    result = run(tool, "nosuchmod", root=root)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        "ERROR: Module nosuchmod does not exist!\n",
    )


def test_foreign_link_not_touched(root: Path) -> None:
    os.symlink("../mods-available/proxy.load", root / "mods-enabled" / "rewrite.load")
    result = run("enmod", "rewrite", root=root)
    assert result.returncode == 1
    assert result.stderr == (
        "ERROR: Config file rewrite.load exists but does not point to"
        " ../mods-available/rewrite.load, not touching it\n"
    )
    assert enabled(root) == {"rewrite.load": "../mods-available/proxy.load"}


def test_real_file_not_touched(root: Path) -> None:
    (root / "mods-enabled" / "rewrite.load").write_text("LoadModule rewrite_module rewrite\n")
    for tool in ("enmod", "dismod"):
        result = run(tool, "rewrite", root=root)
        assert result.returncode == 1
        assert result.stderr == "ERROR: Config file rewrite.load is a real file, not touching it\n"
    assert (root / "mods-enabled" / "rewrite.load").is_file()


def test_dangling_links_are_removed(root: Path) -> None:
    os.symlink("../mods-available/gone.load", root / "mods-enabled" / "gone.load")
    result = run("dismod", "gone", root=root)
    assert result.returncode == 0
    assert "removing dangling symlink mods-enabled/gone.load" in result.stdout
    assert enabled(root) == {}

    os.symlink("../mods-available/elsewhere.load", root / "mods-enabled" / "rewrite.load")
    result = run("enmod", "rewrite", root=root)
    assert result.returncode == 0
    assert "removing dangling symlink mods-enabled/rewrite.load" in result.stdout
    assert enabled(root) == {"rewrite.load": "../mods-available/rewrite.load"}


def test_quiet_keeps_only_action_lines(root: Path) -> None:
    result = run("enmod", "-q", "proxy_http", root=root)
    assert (result.returncode, result.stdout) == (
        0,
        "Enabling module proxy.\nEnabling module proxy_http.\n",
    )
    result = run("enmod", "-q", "proxy_http", root=root)
    assert (result.returncode, result.stdout) == (0, "")
    result = run("dismod", "-q", "-f", "proxy", root=root)
    assert result.stdout == "Module proxy_http disabled.\nModule proxy disabled.\n"
    link(root, "mpm_event")
    result = run("enmod", "-q", "mpm_worker", root=root)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", EVENT_ENABLED)


def test_server_root_from_environment(root: Path) -> None:
    result = run("enmod", "rewrite", extra_env={"PYHTTPD_ROOT": str(root)})
    assert result.returncode == 0, result.stderr
    assert enabled(root) == {"rewrite.load": "../mods-available/rewrite.load"}


def test_missing_server_root_fails(tmp_path: Path) -> None:
    result = run("enmod", "rewrite", root=tmp_path / "nowhere")
    assert result.returncode == 1
    assert "has no mods-available directory" in result.stderr


def test_bad_option_exits_2(root: Path) -> None:
    assert run("enmod", "--no-such-option", "rewrite", root=root).returncode == 2


def test_no_arguments_prompts(root: Path) -> None:
    result = run("enmod", root=root, stdin="rewrite slotmem_shm\n")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Your choices are: " + " ".join(sorted(MODULES))
    assert lines[1] == "Which module(s) do you want to enable (wildcards ok)?"
    assert set(enabled(root)) == {"rewrite.load", "slotmem_shm.load"}

    result = run("dismod", root=root, stdin="")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "Your choices are: rewrite slotmem_shm",
        "Which module(s) do you want to disable (wildcards ok)?",
    ]
    assert result.stderr == "ERROR: No module given, aborting\n"


# -- pyhttpd-query ---------------------------------------------------------------------------------


def test_query_mpm_one(root: Path) -> None:
    link(root, "mpm_event")
    result = run("query", "-M", root=root)
    assert (result.returncode, result.stdout) == (0, "event\n")


def test_query_mpm_two(root: Path) -> None:
    link(root, "mpm_event")
    link(root, "mpm_worker")
    result = run("query", "-M", root=root)
    assert result.returncode == 1
    assert result.stdout == (
        "There is more than one MPM loaded. Do not proceed due to undefined results\n"
    )


def test_query_mpm_none(root: Path) -> None:
    result = run("query", "-M", root=root)
    assert (result.returncode, result.stdout) == (1, "invalid\n")


def test_query_module(root: Path) -> None:
    link(root, "mpm_event")
    result = run("query", "-m", "mpm_event", root=root)
    assert (result.returncode, result.stdout) == (0, "mpm_event (enabled by site administrator)\n")
    result = run("query", "-m", "mpm_worker", root=root)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        "No module matches mpm_worker\n",
    )
    assert run("query", "-q", "-m", "mpm_event", root=root).stdout == ""


def test_query_needs_one_question(root: Path) -> None:
    assert run("query", root=root).returncode == 2
