"""The core's layers point one way: every import, even one inside a function, goes down this list."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tracker"

# Lowest first. A module may import only modules on earlier lines.
LAYERS = [
    ["__init__", "errors", "nodes"],
    ["mounts", "safefile"],
    ["dates"],
    ["yamltext"],
    ["fastread"],
    ["model"],
    ["logfile"],
    ["splice"],
    ["check"],
    ["query"],
    ["index.database"],
    ["index.rows"],
    ["index.build", "index.log"],
    ["index.update"],
    ["index"],
    ["excerpt"],
    ["store"],
    ["edit"],
    ["importers", "merge"],
    ["formats"],
    ["views", "exporters"],
    ["cli"],
    ["__main__"],
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _layer(module: str) -> str:
    """The entry of LAYERS a dotted module name (without `tracker.`) belongs to."""
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        if ".".join(parts[:length]) in RANK:
            return ".".join(parts[:length])
    raise AssertionError(f"tracker.{module} is in no layer: add it to LAYERS")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "tracker":  # modules of the package, or what its __init__ holds
                found |= {
                    f"tracker.{alias.name}"
                    if (PACKAGE / alias.name).exists() or (PACKAGE / f"{alias.name}.py").exists()
                    else "tracker.__init__"
                    for alias in node.names
                }
            else:
                found.add(node.module)
    return {name.removeprefix("tracker.") for name in found if name.startswith("tracker.")}


def test_every_import_points_down_the_layers():
    checked = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" and len(relative.parts) > 1 else relative.parts
        module = _layer(".".join(parts))
        for imported in _imports(path):
            target = _layer(imported)
            if target == module and module in ("cli", "exporters"):
                continue  # a package's modules share its layer
            assert RANK[target] < RANK[module], f"tracker.{'.'.join(parts)} imports tracker.{imported}"
            checked += 1
    assert checked > 100


def test_the_layers_name_every_module():
    for path in PACKAGE.rglob("*.py"):
        _layer(".".join(path.relative_to(PACKAGE).with_suffix("").parts))
