"""The protocol core against the ircdocs parser test vectors (the ``irc-parser-tests`` package).

These are the community's shared test data for IRC message parsing, formatting and mask
matching (``msg-split``, ``msg-join``, ``mask-match``), an external check that our parser,
formatter and ban-mask matcher behave as other implementations do. Commands are upper-cased by
our parser (IRC commands are case-insensitive), so verbs are compared case-insensitively.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tcp_server.protocol import Message, casefold, format_line, parse_line
from tcp_server.state.masks import glob_pattern

parser_tests = pytest.importorskip("parser_tests")
yaml = pytest.importorskip("yaml")
DATA = Path(parser_tests.__file__).parent / "data"


def _vectors(name: str) -> list[dict[str, Any]]:
    return yaml.safe_load((DATA / f"{name}.yaml").read_text())["tests"]


def _case_id(case: dict[str, Any]) -> str:
    return repr(case.get("input") or case.get("desc") or case.get("mask"))[:60]


@pytest.mark.parametrize("case", _vectors("msg-split"), ids=_case_id)
def test_msg_split_vectors(case: dict[str, Any]) -> None:
    msg = parse_line(case["input"])
    atoms = case["atoms"]
    assert msg.command == atoms["verb"].upper()
    assert list(msg.params) == atoms.get("params", [])
    assert msg.source == atoms.get("source")
    assert msg.tags == {k: "" if v is None else v for k, v in (atoms.get("tags") or {}).items()}


@pytest.mark.parametrize("case", _vectors("msg-join"), ids=_case_id)
def test_msg_join_vectors(case: dict[str, Any]) -> None:
    atoms = case["atoms"]
    message = Message(atoms["verb"], tuple(atoms.get("params", [])), atoms.get("source"), atoms.get("tags") or {})
    line = format_line(message).decode().rstrip("\r\n")
    assert line in case["matches"] or parse_line(line) == parse_line(case["matches"][0])


@pytest.mark.parametrize("case", _vectors("mask-match"), ids=_case_id)
def test_mask_match_vectors(case: dict[str, Any]) -> None:
    pattern = glob_pattern(case["mask"])
    for text in case.get("matches", []):
        assert pattern.match(casefold(text)), text
    for text in case.get("fails", []):
        assert not pattern.match(casefold(text)), text
