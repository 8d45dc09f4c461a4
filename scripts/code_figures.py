"""Print the figures issue 11 asks of the code base: how long its functions are and how many
`# fmt: skip` markers it holds. Function lengths leave out migrations, tests, bench/ and scripts/:
they are about the application code a newcomer reads; the markers are counted everywhere. Two-way imports: scripts/import_pairs.py;
repeated blocks: the library's `duplicates` tool.

    python scripts/code_figures.py [ROOT]
"""

import ast
import re
import statistics
import sys
from pathlib import Path

OUTSIDE = {"tests", "bench", "scripts", "migrations", ".venv", "var"}


def application_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.py") if not OUTSIDE & set(path.relative_to(root).parts))


def function_lengths(path: Path) -> list[int]:
    """Lines of each function or method, from its `def` line to its last line."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.end_lineno - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def fmt_skips(root: Path) -> int:
    """Markers in every Python file of the project, tests and benchmarks included."""
    paths = (path for path in root.rglob("*.py") if not {".venv", "var"} & set(path.relative_to(root).parts))
    # A marker is a trailing comment (other comments may follow it); this file only names it.
    marker = re.compile(r"#\s*fmt:\s*skip\b(?=\s*(#.*)?$)", re.MULTILINE)
    return sum(len(marker.findall(path.read_text())) for path in paths)


def main(root: Path) -> None:
    files = application_files(root)
    lengths = sorted(length for path in files for length in function_lengths(path))
    skips = fmt_skips(root)
    p90 = statistics.quantiles(lengths, n=10)[-1]
    print(f"files: {len(files)}, functions: {len(lengths)}")
    print(f"function length: median {statistics.median(lengths):g} lines, p90 {p90:g} lines")
    print(f"# fmt: skip markers: {skips}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
