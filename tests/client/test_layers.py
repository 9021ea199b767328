"""The client core's layering: the session protocol is sans-I/O, and tcp_client has no import cycles."""

from __future__ import annotations

import ast
import subprocess
import sys

from ..support import ROOT

SANS_IO = ("tcp_client.protocol", "tcp_client.decode", "tcp_client.model", "tcp_client.lines")


def test_client_protocol_core_imports_no_asyncio_or_socket() -> None:
    code = (
        "import sys; " + "; ".join(f"import {m}" for m in SANS_IO) + "; "
        "bad = [m for m in ('asyncio', 'socket', 'ssl', 'selectors') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _imports(package: str) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (TYPE_CHECKING imports included)."""
    graph: dict[str, set[str]] = {}
    for path in (ROOT / package).glob("*.py"):
        name = f"{package}.{path.stem}"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = f"{package}.{base}" if base else package
                for alias in node.names:
                    found.add(f"{base}.{alias.name}" if base == package else base)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {m for m in found if m.startswith(package + ".") and m != name}
    assert graph, f"no modules found under {ROOT / package}"  # a wrong path must not pass vacuously
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_tcp_client_has_no_import_cycles() -> None:
    graph = _imports("tcp_client")
    assert "tcp_client.session" in graph["tcp_client.slash"]  # the graph sees real imports
    assert _cycle(graph) is None
