"""Print Pulse's app-level import graph and the pairs of apps that import each other.

Every top-level package of the project (a folder with `__init__.py`, outside tests/, bench/ and
scripts/) is a node; a module of one that imports a module of another, at any depth of the file
(function-level imports too), is an edge. A two-way pair is two apps with an edge each way: a
cycle that the layers (config → product apps → api/common → tenants/users, docs/architecture.md)
forbid. Exits 1 when there is a pair, so that it can gate a build.

    python scripts/import_pairs.py [--edges]
"""

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = {"tests", "bench", "scripts"}


def project_packages(root: Path) -> set[str]:
    return {
        folder.name
        for folder in root.iterdir()
        if (folder / "__init__.py").is_file()
        and folder.name not in OUTSIDE
        and not folder.name.startswith(".")
    }


def imported_names(path: Path) -> set[str]:
    """Top-level package names of every absolute import in the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def import_edges(root: Path) -> dict[tuple[str, str], list[str]]:
    """(importer, imported) → the importer's files that make the edge."""
    packages = project_packages(root)
    edges = defaultdict(list)
    for package in sorted(packages):
        for path in sorted((root / package).rglob("*.py")):
            for name in imported_names(path) & packages - {package}:
                edges[package, name].append(str(path.relative_to(root)))
    return edges


def two_way_pairs(edges) -> list[tuple[str, str]]:
    return sorted((a, b) for a, b in edges if a < b and (b, a) in edges)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", action="store_true", help="also list every edge and its files")
    args = parser.parse_args()
    edges = import_edges(ROOT)
    if args.edges:
        for (importer, imported), files in sorted(edges.items()):
            print(f"{importer} -> {imported}: {', '.join(files)}")
        print()
    pairs = two_way_pairs(edges)
    for a, b in pairs:
        print(f"{a} <-> {b}")
        print(f"  {a} -> {b}: {', '.join(edges[a, b])}")
        print(f"  {b} -> {a}: {', '.join(edges[b, a])}")
    print(f"{len(pairs)} two-way import pair(s) between apps")
    return 1 if pairs else 0


if __name__ == "__main__":
    sys.exit(main())
