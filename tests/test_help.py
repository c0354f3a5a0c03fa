"""Both command lines, echolite (click) and echolite-edge (argparse), read alike: every command's --help is walked,
through click groups and argparse subparsers, and checked for raw markup, options without a description, choices
written otherwise than click's [a|b|c], and command descriptions cut short with "..."."""

import argparse
import re

import click
import pytest
from click.testing import CliRunner

from echolite.cli.main import main
from echolite_edge import __version__ as edge_version
from echolite_edge.cli import build_parser
from echolite_edge.cli import main as edge_main

ARGPARSE_CHOICES = re.compile(r"\{[\w-]+(,[\w-]+)+\}")
"""argparse's own notation of choices, {a,b,c}."""
BARE_CHOICES = re.compile(r"(?<![\[|\w-])[\w-]+(\|[\w-]+)+(?![\w|-]*\])")
"""a|b|c outside click's brackets."""


def click_commands(command=main, path=("echolite",)):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from click_commands(sub, (*path, name))


def argparse_commands(parser=None, path=("echolite-edge",)):
    parser = parser or build_parser()
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from argparse_commands(sub, (*path, name))


CLICK = list(click_commands())
ARGPARSE = list(argparse_commands())


def click_help(path) -> str:
    result = CliRunner().invoke(main, [*path[1:], "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.output


def argparse_help(path, capsys) -> str:
    assert edge_main([*path[1:], "--help"]) == 0
    return capsys.readouterr().out


def check_text(text: str, where: str) -> None:
    assert "``" not in text, f"{where}: raw markup in its help"
    assert not ARGPARSE_CHOICES.search(text), f"{where}: choices written {{a,b}}, not [a|b]"
    bare = [line for line in text.splitlines() if line.lstrip().startswith("-") and BARE_CHOICES.search(line)]
    assert not bare, f"{where}: choices outside [...]: {bare}"
    commands = text.split("Commands:")[1].splitlines() if "Commands:" in text else []
    assert not [line for line in commands if line.rstrip().endswith("...")], f"{where}: a command description cut"


@pytest.mark.parametrize("path", [p for p, _ in CLICK], ids=" ".join)
def test_click_help_reads_alike(path):
    command = dict(CLICK)[path]
    check_text(click_help(path), " ".join(path))
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{' '.join(path)} {param.opts[0]}: no description"
            if isinstance(param.type, click.Choice) or param.metavar:
                assert param.metavar is None or re.fullmatch(r"\[[\w-]+(\|[\w-]+)+\]|[A-Z_=.]+", param.metavar)


@pytest.mark.parametrize("path", [p for p, _ in ARGPARSE], ids=" ".join)
def test_argparse_help_reads_alike(path, capsys):
    parser = dict(ARGPARSE)[path]
    check_text(argparse_help(path, capsys), " ".join(path))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            assert all(sub.help for sub in action._get_subactions()), f"{' '.join(path)}: a command without help"
            continue
        assert action.help and action.help != argparse.SUPPRESS, f"{' '.join(path)} {action.dest}: no description"
        if action.choices:
            assert action.metavar == "[" + "|".join(action.choices) + "]", f"{' '.join(path)} {action.dest}"


def test_the_checks_catch_what_they_are_for():
    for text in ("see ``run``", "  --qc {off,report}  QC", "  --qc off|report  QC", "Commands:\n  run  Segment..."):
        with pytest.raises(AssertionError):
            check_text(text, "sample")
    check_text("  --qc [off|report]  QC\nCommands:\n  run  Segment frames.", "sample")


def test_edge_version_and_shared_defaults(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"echolite-edge, version {edge_version}"
    edge_runs = next(a for a in dict(ARGPARSE)[("echolite-edge", "bench")]._actions if a.dest == "runs").default
    click_runs = next(p for p in dict(CLICK)[("echolite", "bench")].params if p.name == "runs").default
    assert edge_runs == click_runs
    measure = dict(CLICK)[("echolite", "measure")]
    assert "MODEL" not in next(p for p in measure.params if p.name == "data_path").help
