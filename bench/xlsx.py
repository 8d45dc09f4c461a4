"""How fast an uploaded workbook is read: today's openpyxl path against Pulse's streaming reader.

Writes one sales workbook the way Excel does (shared strings, date cells as styled serial numbers,
a <dimension>), once, then reads it side by side, each reader in a fresh child process so its
peak RSS (VmHWM) is its own:
  openpyxl     read-only, data_only, through defusedxml: the reader uploads used until issue 16
  pulse        ingest.xlsx, the streaming reader uploads use now (regex fast path, expat fallback)
  calamine     python-calamine 0.9.1, rows only (no conversion to Pulse's text): for its memory
openpyxl and pulse turn every cell into the text the validators see; the digests of their rows
must be equal. Prints seconds (wall clock and CPU), rows/s, the ratios and each reader's peak
RSS, per size, and whether the targets are met (pulse >= 5x openpyxl on the largest size, peak
RSS not growing with the rows).

Run: `python bench/xlsx.py [--rows 100000 1000000] [--skip-openpyxl-above N]`.
"""

import argparse
import datetime
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

HEADER = ("date", "user_id", "product_name", "quantity", "unit_price", "total_amount", "region", "account")
EXPECTED, REQUIRED = set(HEADER), {"date", "account"}
ACCOUNTS, USERS, PRODUCTS, DAYS = 500, 20_000, 50, 365
REGIONS = ("EMEA", "NA", "APAC", "LATAM")
TARGET_RATIO = 5.0
RSS_GROWTH_MB = 20.0  # 10x the rows may cost this much more peak RSS and still count as constant
CHILD_TIMEOUT_S = 3600
READERS = ("openpyxl", "pulse", "calamine")

# --- the workbook ------------------------------------------------------------------------------

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Sales" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>"""
# Style 1 is Excel's built-in short date (numFmtId 14), as Excel stores a typed-in date.
STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="1"><fill><patternFill patternType="none"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<dimension ref="A1:H{last}"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
    '<sheetFormatPr defaultRowHeight="15"/><sheetData>'
)
SHEET_TAIL = "</sheetData></worksheet>"


class SharedStrings:
    """Excel's table of distinct strings; cells refer to an entry by index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def cell(self, reference: str, text: str) -> str:
        position = self.index.setdefault(text, len(self.index))
        return f'<c r="{reference}" t="s"><v>{position}</v></c>'

    def xml(self) -> str:
        items = "".join(f"<si><t>{escape(text)}</t></si>" for text in self.index)
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'count="{len(self.index)}" uniqueCount="{len(self.index)}">{items}</sst>'
        )


def _row_xml(number: int, rng: random.Random, strings: SharedStrings, serials: list[int]) -> str:
    product, quantity = rng.randrange(PRODUCTS), rng.randint(1, 20)
    price = 5 + product * 3.75
    cells = (
        f'<c r="A{number}" s="1"><v>{rng.choice(serials)}</v></c>',
        strings.cell(f"B{number}", f"user-{rng.randrange(USERS):05d}"),
        strings.cell(f"C{number}", f"Product {product:02d}"),
        f'<c r="D{number}"><v>{quantity}</v></c>',
        f'<c r="E{number}"><v>{price!r}</v></c>',
        f'<c r="F{number}"><v>{price * quantity!r}</v></c>',
        strings.cell(f"G{number}", rng.choice(REGIONS)),
        strings.cell(f"H{number}", f"acct-{rng.randint(1, ACCOUNTS):04d}"),
    )
    return f'<row r="{number}" spans="1:8">{"".join(cells)}</row>'


def generate(path: Path, rows: int, seed: int = 42) -> None:
    rng, strings = random.Random(seed), SharedStrings()
    first = (datetime.date.today() - datetime.date(1899, 12, 30)).days - DAYS
    serials = list(range(first, first + DAYS))
    header = "".join(strings.cell(f"{chr(65 + i)}1", name) for i, name in enumerate(HEADER))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, text in (
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", ROOT_RELS),
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            ("xl/styles.xml", STYLES),
        ):
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write((SHEET_HEAD.format(last=rows + 1) + f'<row r="1">{header}</row>').encode())
            for number in range(2, rows + 2):
                sheet.write(_row_xml(number, rng, strings, serials).encode())
            sheet.write(SHEET_TAIL.encode())
        archive.writestr("xl/sharedStrings.xml", strings.xml())


# --- the readers, each in a child process ------------------------------------------------------


def _peak_rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024  # kB


def _records(reader: str, path: Path):
    if reader == "openpyxl":
        from tests.ingest.openpyxl_reference import openpyxl_records

        return openpyxl_records(str(path))
    if reader == "pulse":
        from ingest.parsers import _xlsx_records

        return _xlsx_records(str(path))
    import python_calamine

    sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    return enumerate(sheet.iter_rows(), start=1)


def child(reader: str, path: Path) -> None:
    """One reader over the whole sheet; figures as one JSON line on stdout."""
    digest, rows = hashlib.sha256(), 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for line, cells in _records(reader, path):
        rows += 1
        if reader != "calamine":  # calamine's values are not Pulse's text, so not compared
            digest.update(repr((line, cells)).encode())
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    figures = {
        "seconds": seconds,
        "cpu": cpu,
        "rows": rows,
        "digest": digest.hexdigest(),
        "rss": _peak_rss_mb(),
    }
    print(json.dumps(figures))


def run_reader(reader: str, path: Path) -> dict:
    command = [sys.executable, __file__, "--child", reader, str(path)]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, timeout=CHILD_TIMEOUT_S)
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


# --- report ------------------------------------------------------------------------------------

ROW = "{:<12}{:>11}{:>10}{:>12}{:>14}{:>11}{:>13}"


def load() -> str:
    return " ".join(f"{average:.2f}" for average in os.getloadavg())


def measure(folder: Path, rows: int, readers: tuple[str, ...]) -> dict[str, dict]:
    path = folder / f"sales-{rows}.xlsx"
    seconds = time.perf_counter()
    generate(path, rows)
    seconds = time.perf_counter() - seconds
    print(
        f"\n{rows:,} data rows: workbook of {path.stat().st_size / 2**20:.0f} MB written in {seconds:.1f} s"
    )
    figures = {}
    for reader in readers:
        figures[reader] = run_reader(reader, path)
        print(f"  {reader} done, load average {load()}", flush=True)
    path.unlink()
    print(ROW.format("reader", "seconds", "rows/s", "peak RSS", "vs openpyxl", "CPU s", "CPU ratio"))
    for reader, result in figures.items():
        print(
            ROW.format(
                reader,
                f"{result['seconds']:.2f}",
                f"{result['rows'] / result['seconds']:,.0f}",
                f"{result['rss']:.0f} MB",
                _ratio(figures, reader, "seconds"),
                f"{result['cpu']:.2f}",
                _ratio(figures, reader, "cpu"),
            )
        )
    if "openpyxl" in figures:
        same = figures["openpyxl"]["digest"] == figures["pulse"]["digest"]
        print(f"  pulse rows identical to openpyxl's: {'yes' if same else 'NO'}")
        if not same:
            raise SystemExit("the readers disagree")
    return figures


def _ratio(figures: dict[str, dict], reader: str, key: str) -> str:
    if "openpyxl" not in figures:
        return "-"
    return f"{figures['openpyxl'][key] / figures[reader][key]:.1f}x"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def report(results: dict[int, dict[str, dict]]) -> None:
    sizes = sorted(results)
    print()
    largest = results[sizes[-1]]
    if "openpyxl" in largest:
        # On a shared machine the wall clock also counts time spent waiting for a core, which
        # differs between two runs; the CPU time each reader used does not.
        for key, what in (("seconds", "wall clock"), ("cpu", "CPU time")):
            ratio = largest["openpyxl"][key] / largest["pulse"][key]
            print(f"pulse vs openpyxl at {sizes[-1]:,} rows, {what}: {ratio:.1f}x   target >= ", end="")
            print(f"{TARGET_RATIO:.0f}x: {verdict(ratio >= TARGET_RATIO)}")
    for reader in ("pulse", "calamine"):
        peaks = [results[size][reader]["rss"] for size in sizes]
        growth = peaks[-1] - peaks[0]
        print(
            f"{reader} peak RSS " + " -> ".join(f"{peak:.0f} MB" for peak in peaks) + f" ({growth:+.0f} MB)"
            f"   constant (growth < {RSS_GROWTH_MB:.0f} MB): {verdict(growth < RSS_GROWTH_MB)}"
        )


def run(args) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-xlsx-"))
    try:
        results = {}
        for rows in sorted(args.rows):
            readers = tuple(r for r in READERS if r != "openpyxl" or rows <= args.skip_openpyxl_above)
            results[rows] = measure(folder, rows, readers)
        report(results)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[100_000, 1_000_000], help="data rows (default 100000 1000000)"
    )
    parser.add_argument(
        "--skip-openpyxl-above", type=int, default=10**9, help="no openpyxl run above this many rows"
    )
    parser.add_argument("--child", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.child:
        child(arguments.child[0], Path(arguments.child[1]))
    else:
        run(arguments)
