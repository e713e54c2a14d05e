"""docs/api.md's table of paths is whole: every route the server answers is in it, and nothing else."""
from __future__ import annotations

import re
from pathlib import Path

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _shape(path: str) -> str:
    """A path with its parameters blanked: /api/rulesets/<ruleset>/rules/<rule> and /api/rulesets/{id}/rules/{rule}
    are the same path."""
    return re.sub(r"<[^>]*>|\{[^}]*\}", "{}", path)


def documented() -> set[tuple[str, str]]:
    text = API_DOC.read_text(encoding="utf-8")
    table = text[text.index("## Paths\n"):]
    table = table[:table.index("\n\n", table.index("| path |"))]
    rows = set()
    for methods, path in re.findall(r"^\| `([A-Z, ]+) (/api/[^`?]*)(?:\?[^`]*)?` \|", table, flags=re.M):
        for method in methods.split(","):
            rows.add((method.strip(), _shape(path)))
    return rows


def test_every_route_is_in_the_paths_table_of_docs_api_md(app):
    routes = {(method, _shape(rule.rule)) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    table = documented()
    assert sorted(routes - table) == [], "routes missing from the paths table of docs/api.md"
    assert sorted(table - routes) == [], "paths in docs/api.md that the server does not answer"
