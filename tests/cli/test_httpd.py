"""`pyhttpd` as a real subprocess: -t -v -V -l -L -M -S -D -C -c -k, errors and exit codes.

Each test writes a config into tmp_path and runs `python -m pyhttpd -d ROOT -f httpd.conf ...`, so
the tests work before the console script is installed. Output is compared exactly with Apache's
wording (checked against Debian's apache2, which says `apache2` where we say `pyhttpd`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INVALID_FOO = (
    "Invalid command 'Foo', perhaps misspelled or defined by a module not included in the server "
    "configuration"
)
THREADED = "  threaded:     yes (fixed thread count)"
FORKED = "    forked:     yes (variable process count)"


def mpm_line(mpm: str) -> str:
    return f"LoadModule mpm_{mpm}_module modules/mod_mpm_{mpm}.so\n"


def run(root: Path, *args: str, config: str = "httpd.conf") -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYHTTPD_ROOT"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    argv = [sys.executable, "-m", "pyhttpd", "-d", str(root), "-f", config, *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=root, timeout=60)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A ServerRoot whose default DocumentRoot and logs exist, so -t prints nothing else."""
    (tmp_path / "htdocs").mkdir()
    (tmp_path / "logs").mkdir()
    return tmp_path


def write(root: Path, text: str, mpm: str | None = "event", name: str = "httpd.conf") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((mpm_line(mpm) if mpm else "") + text)
    return path


# --- -t -----------------------------------------------------------------------------------------


def test_syntax_ok_on_stderr(root: Path) -> None:
    write(root, "ServerName localhost\nListen 127.0.0.1:8080\n")
    result = run(root, "-t")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "Syntax OK\n")


def test_corrections_come_before_syntax_ok(root: Path) -> None:
    write(root, "ServerName localhost\nThreadsPerChild 100\n", mpm="worker")
    result = run(root, "-t")
    assert result.returncode == 0
    assert result.stderr == (
        "AH00310: WARNING: ThreadsPerChild of 100 exceeds ThreadLimit of 64 threads, decreasing "
        "to 64. To increase, please see the ThreadLimit directive.\n"
        "AH00316: WARNING: MaxRequestWorkers of 400 is not an integer multiple of ThreadsPerChild "
        "of 64, decreasing to nearest multiple 384, for a maximum of 6 servers.\n"
        "Syntax OK\n"
    )


def test_missing_server_name_warns_but_passes(root: Path) -> None:
    write(root, "Listen 8080\n")
    result = run(root, "-t")
    assert result.returncode == 0
    assert result.stderr == (
        "AH00558: pyhttpd: Could not reliably determine the server's fully qualified domain "
        "name, using 127.0.0.1. Set the 'ServerName' directive globally to suppress this "
        "message\nSyntax OK\n"
    )


def test_processing_error(root: Path) -> None:
    path = write(root, "ServerName x\nFoo bar\n")
    result = run(root, "-t")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"AH00526: Syntax error on line 3 of {path}:\n{INVALID_FOO}\n"


def test_read_error_is_one_line(root: Path) -> None:
    path = write(root, "ServerName x\n<Directory /srv>\n")
    result = run(root, "-t")
    assert result.returncode == 1
    assert result.stderr == (
        f"pyhttpd: Syntax error on line 3 of {path}: {path}:3: <Directory> was not closed.\n"
    )


def test_undefined_variable_warning_then_syntax_ok(root: Path) -> None:
    write(root, "ServerName x\nServerAdmin ${PYHTTPD_TEST_NOPE}\n")
    result = run(root, "-t")
    assert result.returncode == 0
    assert result.stderr == (
        "AH00111: Config variable ${PYHTTPD_TEST_NOPE} is not defined\nSyntax OK\n"
    )


def test_no_mpm_loaded(root: Path) -> None:
    write(root, "ServerName x\n", mpm=None)
    result = run(root, "-t")
    assert result.returncode == 1
    assert result.stderr == "AH00534: pyhttpd: Configuration error: No MPM loaded.\n"


def test_more_than_one_mpm_loaded(root: Path) -> None:
    write(root, "ServerName x\n" + mpm_line("prefork"))
    result = run(root, "-t")
    assert result.returncode == 1
    assert result.stderr == "AH00534: pyhttpd: Configuration error: More than one MPM loaded.\n"


def test_missing_config_file(root: Path) -> None:
    result = run(root, "-t", config="nope.conf")
    assert result.returncode == 1
    assert result.stderr == (
        f"pyhttpd: Could not open configuration file {root / 'nope.conf'}: "
        "No such file or directory\n"
    )


def test_config_file_relative_to_server_root(root: Path) -> None:
    write(root, "ServerName x\n", name="conf/site.conf")
    result = run(root, "-t", config="conf/site.conf")
    assert (result.returncode, result.stderr) == (0, "Syntax OK\n")


# --- -v, -V, -l, -L -----------------------------------------------------------------------------


def test_version(root: Path) -> None:
    write(root, "Foo\n", mpm=None)  # -v does not read the config
    result = run(root, "-v")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Server version: pyhttpd/")
    assert " Apache/2.4." in lines[0]
    assert lines[1].startswith("Server built:   ")


@pytest.mark.parametrize(
    ("mpm", "threaded", "forked"),
    [
        ("prefork", "  threaded:     no", FORKED),
        ("worker", THREADED, FORKED),
        ("event", THREADED, FORKED),
    ],
)
def test_compile_settings_name_the_mpm(root: Path, mpm: str, threaded: str, forked: str) -> None:
    write(root, "ServerName x\n", mpm=mpm)
    result = run(root, "-V")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Server version: pyhttpd/")
    index = lines.index(f"Server MPM:     {mpm}")
    assert lines[index + 1 : index + 3] == [threaded, forked]
    assert lines[index + 3] == "Server compiled with...."
    assert any(line.startswith(' -D HTTPD_ROOT="') for line in lines)
    assert any(line.startswith(' -D SERVER_CONFIG_FILE="') for line in lines)


def test_compile_settings_name_the_installed_config_file(root: Path) -> None:
    """The installed launcher sets $PYHTTPD_CONFIG as Debian compiles SERVER_CONFIG_FILE in."""
    path = write(root, "ServerName x\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYHTTPD_CONFIG": str(path)}
    argv = [sys.executable, "-m", "pyhttpd", "-d", str(root), "-V"]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=root, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f' -D SERVER_CONFIG_FILE="{path}"' in result.stdout.splitlines()
    assert ' -D SERVER_CONFIG_FILE="conf/httpd.conf"' in run(root, "-V").stdout.splitlines()


def test_compile_settings_on_a_broken_config(root: Path) -> None:
    path = write(root, "</IfModule>\n" + mpm_line("event"), mpm=None)
    result = run(root, "-V")
    assert result.returncode == 1
    assert result.stderr == (
        f"pyhttpd: Syntax error on line 1 of {path}: </IfModule> without matching <IfModule> "
        "section\n"
    )
    lines = result.stdout.splitlines()
    assert "Server MPM:     " in lines
    assert not any("threaded:" in line for line in lines)
    assert any(line.startswith(" -D HTTPD_ROOT=") for line in lines)


def test_compile_settings_without_an_mpm(root: Path) -> None:
    write(root, "ServerName x\n", mpm=None)
    result = run(root, "-V")
    assert result.returncode == 1
    assert result.stderr == "AH00534: pyhttpd: Configuration error: No MPM loaded.\n"
    assert "Server MPM:     " in result.stdout.splitlines()


def test_compiled_in_modules(root: Path) -> None:
    write(root, "Foo\n", mpm=None)  # -l does not read the config
    result = run(root, "-l")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Compiled in modules:"
    assert lines[1] == "  core.c"
    assert "  mod_so.c" in lines and "  mod_log_config.c" in lines
    assert all(line.startswith("  ") and line.endswith(".c") for line in lines[1:])


def test_directive_listing(root: Path) -> None:
    result = run(root, "-L")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    index = lines.index("Listen (core.c)")
    assert lines[index + 1 : index + 3] == [
        "\tA port number or a numeric IP address and a port number, and an optional protocol",
        "\tAllowed in *.conf only outside <Directory>, <Files>, <Location>, or <If>",
    ]
    # every MPM's directives are listed, whether or not a config loads them
    assert "ThreadsPerChild (event.c)" in lines or "ThreadsPerChild (worker.c)" in lines
    assert "MinSpareServers (prefork.c)" in lines


# --- -M, -S, -t -D DUMP_INCLUDES ----------------------------------------------------------------


def test_loaded_modules(root: Path) -> None:
    write(root, "ServerName x\n")
    result = run(root, "-M")
    assert result.returncode == 0
    assert result.stderr == ""  # no Syntax OK for a dump
    lines = result.stdout.splitlines()
    assert lines[0] == "Loaded Modules:"
    assert lines[1] == " core_module (static)"
    assert lines[-1] == " mpm_event_module (shared)"
    kinds = [line.rsplit(" ", 1)[1] for line in lines[1:]]
    assert kinds == sorted(kinds, key=lambda kind: kind != "(static)")  # static first


def test_dump_modules_is_the_same_as_capital_m(root: Path) -> None:
    write(root, "ServerName x\n")
    assert run(root, "-t", "-D", "DUMP_MODULES").stdout == run(root, "-M").stdout


def test_vhost_dump_with_a_name_virtual_host(root: Path) -> None:
    path = write(
        root,
        "ServerName main\n"
        "<VirtualHost *:80>\nServerName a.example\n</VirtualHost>\n"
        "<VirtualHost *:80>\nServerName b.example\nServerAlias c.example d.example\n"
        "</VirtualHost>\n"
        "<VirtualHost 127.0.0.1:81>\nServerName e.example\n</VirtualHost>\n",
    )
    result = run(root, "-S")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    end = lines.index(f'ServerRoot: "{root}"')
    assert lines[:end] == [
        "VirtualHost configuration:",
        f"127.0.0.1:81           e.example ({path}:10)",
        "*:80                   is a NameVirtualHost",
        f"         default server a.example ({path}:3)",
        f"         port 80 namevhost a.example ({path}:3)",
        f"         port 80 namevhost b.example ({path}:6)",
        "                 alias c.example",
        "                 alias d.example",
    ]
    assert f'Main DocumentRoot: "{root / "htdocs"}"' in lines
    assert "Define: DUMP_VHOSTS" in lines and "Define: DUMP_RUN_CFG" in lines
    assert "Syntax OK" not in result.stderr


def test_include_dump(root: Path) -> None:
    write(root, "ServerName x\nInclude conf.d/*.conf\n")
    (root / "conf.d").mkdir()
    (root / "conf.d/b.conf").write_text("Include sub/c.conf\n")
    (root / "conf.d/a.conf").write_text("Define A\n")
    (root / "sub").mkdir()
    (root / "sub/c.conf").write_text("Define C\n")
    result = run(root, "-t", "-D", "DUMP_INCLUDES")
    assert result.returncode == 0
    assert result.stdout == (
        "Included configuration files:\n"
        f"  (*) {root / 'httpd.conf'}\n"
        f"    (3) {root / 'conf.d/a.conf'}\n"
        f"    (3) {root / 'conf.d/b.conf'}\n"
        f"      (1) {root / 'sub/c.conf'}\n"
    )


# --- -D, -C, -c ---------------------------------------------------------------------------------


def test_define_on_the_command_line_drives_ifdefine(root: Path) -> None:
    write(root, "ServerName x\n<IfDefine !NEEDED>\nFoo\n</IfDefine>\n")
    assert run(root, "-t").returncode == 1
    result = run(root, "-t", "-D", "NEEDED")
    assert (result.returncode, result.stderr) == (0, "Syntax OK\n")


def test_define_on_the_command_line_shows_in_the_run_config(root: Path) -> None:
    write(root, "ServerName x\n")
    assert "Define: EXTRA" in run(root, "-S", "-D", "EXTRA").stdout.splitlines()


def test_directive_before_the_config(root: Path) -> None:
    write(root, "ServerName x\n<IfDefine EARLY>\nFoo\n</IfDefine>\n")
    result = run(root, "-t", "-C", "Define EARLY")
    assert result.returncode == 1
    assert INVALID_FOO in result.stderr


def test_directive_after_the_config(root: Path) -> None:
    write(root, "ServerName x\n<IfDefine LATE>\nFoo\n</IfDefine>\n")
    result = run(root, "-t", "-c", "Define LATE")
    assert (result.returncode, result.stderr) == (0, "Syntax OK\n")


def test_loadmodule_from_the_command_line(root: Path) -> None:
    write(root, "ServerName x\n", mpm=None)
    result = run(root, "-t", "-C", "LoadModule mpm_prefork_module modules/mod_mpm_prefork.so")
    assert (result.returncode, result.stderr) == (0, "Syntax OK\n")


def test_error_in_a_command_line_directive(root: Path) -> None:
    write(root, "ServerName x\n")
    result = run(root, "-t", "-c", "Foo")
    assert result.returncode == 1
    assert result.stderr == f"AH00526: Syntax error on line 1 of -c/-C directives:\n{INVALID_FOO}\n"


# --- bad options, -k, -X ------------------------------------------------------------------------


def test_illegal_option(root: Path) -> None:
    result = run(root, "-Z")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "pyhttpd: illegal option -- Z"
    assert lines[1] == "Usage: pyhttpd [-D name] [-d directory] [-f file]"
    assert "  -t                 : run syntax check for config files" in lines


def test_help_prints_usage_and_exits_1(root: Path) -> None:
    result = run(root, "-h")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "Usage: pyhttpd [-D name] [-d directory] [-f file]"
    options = [line.split(":")[0].strip() for line in lines if line.startswith("  -")]
    assert options == [
        "-D name",
        "-d directory",
        "-f file",
        '-C "directive"',
        '-c "directive"',
        "-e level",
        "-E file",
        "-v",
        "-V",
        "-h",
        "-l",
        "-L",
        "-t -D DUMP_VHOSTS",
        "-t -D DUMP_RUN_CFG",
        "-S",
        "-t -D DUMP_MODULES",
        "-M",
        "-t -D DUMP_INCLUDES",
        "-t",
        "-T",
        "-X",
    ]
    assert all(line.index(":") == 21 for line in lines if line.startswith("  -"))


def test_unknown_signal_prints_usage(root: Path) -> None:
    write(root, "ServerName x\n")
    result = run(root, "-k", "bogus")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[:2] == [
        "pyhttpd: illegal option -- k",
        "Usage: pyhttpd [-D name] [-d directory] [-f file]",
    ]


def test_k_start_on_a_busy_port_fails_on_the_terminal(root: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        write(root, f"ServerName x\nListen 127.0.0.1:{port}\n")
        result = run(root, "-k", "start")
    assert result.returncode == 1
    assert result.stderr == (
        f"(98)Address already in use: AH00072: make_sock: could not bind to address "
        f"127.0.0.1:{port}\nno listening sockets available, shutting down\n"
        "AH00015: Unable to open logs\n"
    )


def test_k_start_reads_the_config_first(root: Path) -> None:
    path = write(root, "ServerName x\nFoo\n")
    result = run(root, "-k", "start")
    assert result.returncode == 1
    assert result.stderr == f"AH00526: Syntax error on line 3 of {path}:\n{INVALID_FOO}\n"


def test_debug_mode_with_a_broken_config_does_not_serve(root: Path) -> None:
    path = write(root, "ServerName x\nFoo\n")
    result = run(root, "-X")
    assert result.returncode == 1
    assert result.stderr == f"AH00526: Syntax error on line 3 of {path}:\n{INVALID_FOO}\n"


# --- the repository's own configuration ---------------------------------------------------------


def test_the_default_configuration_passes(tmp_path: Path) -> None:
    if not (REPO / "conf" / "httpd.conf").exists():
        pytest.skip("conf/httpd.conf does not exist yet")
    args = ["-t", "-f", "conf/httpd.conf"]
    if not list((REPO / "mods-enabled").glob("mpm_*.load")):
        # A fresh checkout enables no MPM until `pyhttpd-enmod mpm_event` is run.
        args += ["-C", "LoadModule mpm_event_module modules/mod_mpm_event.so"]
    env = {key: value for key, value in os.environ.items() if key != "PYHTTPD_ROOT"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "pyhttpd", "-d", str(REPO), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == "Syntax OK"
