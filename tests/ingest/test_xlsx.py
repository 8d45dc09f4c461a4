"""The streaming workbook reader (ingest.xlsx) against openpyxl's, which uploads used until issue 16:
the same workbooks, written with openpyxl or by hand where openpyxl cannot write the case, must give
the same rows cell for cell; damaged and hostile ones a FileRefused sentence."""

import datetime
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from ingest import parsers, xlsx
from ingest.parsers import FileRefused, read_header_and_rows
from tests.ingest.openpyxl_reference import openpyxl_records
from tests.ingest.test_parsers import rewrite_member

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def records(path) -> list:
    return list(parsers._xlsx_records(str(path)))


def assert_same_as_openpyxl(path) -> list:
    ours = records(path)
    assert ours == list(openpyxl_records(str(path)))
    return ours


def openpyxl_workbook(tmp_path, rows, name="book.xlsx", prepare=None):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    if prepare:
        prepare(workbook)
    path = tmp_path / name
    workbook.save(path)
    return path


def sheet_xml(
    rows: str, head: str = f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="{MAIN}">'
) -> str:
    return f"{head}<sheetData>{rows}</sheetData></worksheet>"


def handmade(tmp_path, rows, strings=(), styles="", sheet=None):
    """A workbook package as Excel writes it (shared strings, styles) with these rows in its
    <sheetData>, or this whole sheet part, for the cases openpyxl never writes."""
    path = tmp_path / "hand.xlsx"
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": sheet or sheet_xml(rows),
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">'
        + "".join(f"<si>{item}</si>" for item in strings)
        + "</sst>",
    }
    if styles:
        parts["xl/styles.xml"] = f'<styleSheet xmlns="{MAIN}">{styles}</styleSheet>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, text in parts.items():
            archive.writestr(member, text)
    return path


# --- Values ---------------------------------------------------------------------------------------


def test_numbers_text_booleans_and_empty_cells_match_openpyxl(tmp_path):
    path = openpyxl_workbook(
        tmp_path,
        [
            ["id", "amount", "flag", "note", "code"],
            [1, 1.0, True, None, "00123"],
            [123456789012345, 0.1 + 0.2, False, "  padded  ", "1e5"],
            [-0, 1e20, None, 'Zoë & <Co> "quoted"', "=not a formula? no: a text"],
            [2**53 + 1, -0.000001234, None, "line\nbreak", "TRUE"],
            [Decimal("19.99"), 123456789.123456789, None, "", " 42 "],
        ],
    )

    rows = assert_same_as_openpyxl(path)

    assert rows[1] == (2, ["1", "1", "TRUE", "", "00123"])
    assert rows[2][1][:2] == ["123456789012345", "0.3"]  # a 15-digit id stays whole


def test_dates_times_durations_and_date_formatted_numbers_match_openpyxl(tmp_path):
    def formats(workbook):
        sheet = workbook.active
        sheet["A5"].number_format = "dd/mm/yyyy"  # a plain number shown as a date
        sheet["B5"].number_format = "[$-409]d-mmm-yy;@"
        sheet["C5"].number_format = '"Due "0.00'  # quoted text with a "d": not a date
        sheet["D5"].number_format = "[Red]0.00"  # a colour, not a date

    path = openpyxl_workbook(
        tmp_path,
        [
            ["date", "at", "time", "duration"],
            [datetime.date(2024, 1, 31), datetime.datetime(2024, 2, 1, 13, 45), datetime.time(8, 30), None],
            [datetime.date(1900, 1, 1), datetime.datetime(2024, 2, 1, 0, 0, 0, 500_000), None, None],
            [datetime.date(1900, 3, 1), None, None, datetime.timedelta(days=1, hours=2)],
            [45000, 45000.75, 3.5, 2.25],
        ],
        prepare=formats,
    )

    rows = assert_same_as_openpyxl(path)

    assert rows[1][1][:2] == ["2024-01-31", "2024-02-01T13:45:00"]
    assert rows[4][1][:2] == ["2023-03-15", "2023-03-15T18:00:00"]


def test_the_1904_date_system_is_honoured(tmp_path):
    def mac(workbook):
        workbook.epoch = CALENDAR_MAC_1904

    path = openpyxl_workbook(tmp_path, [["date"], [datetime.date(2024, 5, 6)]], prepare=mac)

    assert assert_same_as_openpyxl(path)[1] == (2, ["2024-05-06"])


def test_formulas_give_their_cached_values(tmp_path):
    path = openpyxl_workbook(
        tmp_path, [["a", "b", "total", "label", "bad"], [2, 3, "=A2+B2", '="x"&A2', "=1/0"]]
    )
    rewrite_member(
        path,
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b"<f>A2+B2</f><v />", b"<f>A2+B2</f><v>5</v>")
        .replace(b'<c r="D2"><f>"x"&amp;A2</f><v />', b'<c r="D2" t="str"><f>"x"&amp;A2</f><v>x2</v>')
        .replace(b'<c r="E2"><f>1/0</f><v />', b'<c r="E2" t="e"><f>1/0</f><v>#DIV/0!</v>'),
    )

    rows = assert_same_as_openpyxl(path)

    assert rows[1][1][2:] == ["5", "x2", "#DIV/0!"]


def test_shared_strings_rich_text_and_inline_strings_match_openpyxl(tmp_path):
    strings = (
        "<t>plain</t>",
        '<t xml:space="preserve">  spaced  </t>',
        "<r><rPr><b/></rPr><t>bo</t></r><r><t>ld</t></r>",
        '<t>漢字</t><rPh sb="0" eb="2"><t>かんじ</t></rPh>',
        "<t>a_x005F_x000D_b</t>",
        "<t>00123</t>",
        "<t>x &amp; y &#10; z</t>",
    )
    cells = "".join(f'<c r="{chr(65 + i)}2" t="s"><v>{i}</v></c>' for i in range(len(strings)))
    inline = (
        '<c r="A3" t="inlineStr"><is><t>inline</t></is></c>'
        '<c r="B3" t="inlineStr"><is><r><t>ri</t></r><r><t>ch</t></r></is></c>'
        '<c r="C3" t="inlineStr"><v>ignored</v></c>'
        '<c r="D3" t="str"><v>a &lt; b</v></c>'
    )
    path = handmade(
        tmp_path,
        f'<row r="1"><c r="A1" t="inlineStr"><is><t>h</t></is></c></row><row r="2">{cells}</row><row r="3">{inline}</row>',
        strings,
    )

    rows = assert_same_as_openpyxl(path)

    assert rows[1][1] == ["plain", "spaced", "bold", "漢字", "a_x000D_b", "00123", "x & y \n z"]
    assert rows[2][1] == ["inline", "rich", "", "a < b"]


def test_trailing_empty_columns_empty_rows_and_gaps_match_openpyxl(tmp_path):
    def styled_blanks(workbook):
        sheet = workbook.active
        sheet["F2"].font = Font(bold=True)  # a formatted empty cell widens its row
        sheet["A9"] = "after a gap"
        sheet["C12"].font = Font(italic=True)  # a row holding only a formatted empty cell

    path = openpyxl_workbook(
        tmp_path, [["a", "b", None, "d"], ["1", None, "3"], [], [None, None]], prepare=styled_blanks
    )

    rows = assert_same_as_openpyxl(path)

    assert rows[1] == (2, ["1", "", "3", "", "", ""])
    assert [line for line, _ in rows] == list(range(1, 13))


def test_the_first_worksheet_is_read_whichever_is_active_and_chart_sheets_are_skipped(tmp_path):
    def sheets(workbook):
        workbook.active.title = "First"
        second = workbook.create_sheet("Second")
        second.append(["other"])
        workbook.active = 1
        chart = BarChart()
        chart.add_data(Reference(second, min_col=1, min_row=1))
        workbook.create_chartsheet("Chart", 0).add_chart(chart)

    path = openpyxl_workbook(tmp_path, [["first sheet"]], prepare=sheets)

    assert assert_same_as_openpyxl(path) == [(1, ["first sheet"])]


def test_an_empty_sheet_gives_no_rows(tmp_path):
    written = openpyxl_workbook(tmp_path, [])
    self_closed = handmade(
        tmp_path, "", sheet=f'<worksheet xmlns="{MAIN}"><sheetData /><pageMargins left="1"/></worksheet>'
    )

    assert assert_same_as_openpyxl(written) == assert_same_as_openpyxl(self_closed) == []


# --- XML the fast path hands to expat ------------------------------------------------------------


@pytest.mark.parametrize(
    "sheet_data",
    [
        # comments and whitespace between elements, as a pretty-printer leaves them
        '<row r="1">\n  <c r="A1" t="s"><v>0</v></c>\n  <!-- note -->\n  <c r="B1"><v>7</v></c>\n</row>\n',
        # cells and rows without references, out of order, repeated; lowercase references
        '<row><c t="s"><v>0</v></c><c><v>1</v></c></row><row r="5"><c r="c5"><v>3</v></c><c r="A5"><v>1</v></c></row>'
        '<row r="3"><c><v>9</v></c></row><row r="5.0"><c><v>2</v></c></row><row><c r="B6"><v>4</v></c></row>',
        # attributes in another order, CDATA, an entity, a character reference, a carriage return
        '<row r="1" spans="1:3"><c t="str" r="A1"><v><![CDATA[<raw>]]></v></c><c r="B1" t="str"><v>a&amp;b&#13;</v></c>'
        '<c r="C1" t="str"><v>x\r\ny</v></c></row>',
        # a style given as empty, a boolean, an ISO date cell
        '<row r="1"><c r="A1" s=""><v>45000</v></c><c r="B1" t="b"><v>1</v></c><c r="C1" t="d"><v>2024-02-03T04:05:06</v></c></row>',
    ],
    ids=["comments", "references", "text-escapes", "types"],
)
def test_xml_outside_the_fast_path_is_read_as_openpyxl_reads_it(tmp_path, sheet_data):
    path = handmade(
        tmp_path, sheet_data, strings=("<t>s</t>",), styles='<cellXfs><xf numFmtId="14"/></cellXfs>'
    )

    assert assert_same_as_openpyxl(path)


def test_a_namespace_prefix_is_read_through_expat(tmp_path):
    sheet = (
        f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData><x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c>'
        '<x:c r="B1"><x:v>2.5</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    path = handmade(tmp_path, "", strings=("<t>prefixed</t>",), sheet=sheet)

    assert assert_same_as_openpyxl(path) == [(1, ["prefixed", "2.5"])]


def test_the_fast_path_hands_over_mid_sheet_without_repeating_or_losing_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "_CHUNK_BYTES", 256)  # many chunks, so the handover is mid-sheet
    rows = "".join(
        f'<row r="{n}"><c r="A{n}"><v>{n}</v></c><c r="B{n}" t="s"><v>0</v></c></row>' for n in range(1, 200)
    )
    path = handmade(
        tmp_path,
        rows + '<!-- a comment late in the sheet --><row r="200"><c r="A200"><v>200</v></c></row>',
        ("<t>s</t>",),
    )

    result = assert_same_as_openpyxl(path)

    assert [line for line, _ in result] == list(range(1, 201))


def test_cells_converted_once_still_convert_per_style(tmp_path):
    # The same raw value, once as a number and once as a date: the cache is keyed by style.
    path = handmade(
        tmp_path,
        '<row r="1"><c r="A1"><v>45000</v></c><c r="B1" s="1"><v>45000</v></c><c r="C1"><v>45000</v></c></row>',
        styles='<cellXfs><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs>',
    )

    assert assert_same_as_openpyxl(path) == [(1, ["45000", "2023-03-15", "45000"])]


# --- Damaged and hostile workbooks ---------------------------------------------------------------

DAMAGED = "The Excel file is damaged or unsafe and cannot be read."


def refusal(path) -> str:
    with pytest.raises(FileRefused) as caught:
        header, rows = read_header_and_rows(str(path), path.name, expected={"a", "b"}, required={"a"})
        list(rows)
    return str(caught.value)


@pytest.mark.parametrize(
    ("sheet_data", "why"),
    [
        ('<row r="2"><c r="A2"><v>1</v></c></row><row r="3"><c r="A3"><v>2</v>', "the sheet ends mid-row"),
        ('<row r="2"><c r="A2" t="s"><v>7</v></c></row>', "a shared string that does not exist"),
        ('<row r="2"><c r="A2"><v>abc</v></c></row>', "a number that is not one"),
        ('<row r="2"><c r="A2" t="str"><v>&lol;</v></c></row>', "an entity no DTD defines"),
        ('<row r="2"><c r="A2"><v>1</v></c></row></sheetData><bad', "broken XML after the data"),
        ('<row r="x"><c r="A2"><v>1</v></c></row>', "a row number that is not one"),
    ],
)
def test_a_damaged_sheet_is_refused_with_a_sentence(tmp_path, sheet_data, why):
    header = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    path = handmade(
        tmp_path, "", ("<t>a</t>",), sheet=f'<worksheet xmlns="{MAIN}"><sheetData>{header}{sheet_data}'
    )

    assert refusal(path).startswith(DAMAGED), why


def test_a_doctype_hidden_in_the_sheet_beyond_the_scanned_prolog_is_refused(tmp_path):
    padding = "<!--" + " " * 5000 + "-->"
    head = f'<?xml version="1.0"?>{padding}<!DOCTYPE w [<!ENTITY a "aaaa">]><worksheet xmlns="{MAIN}">'
    path = handmade(tmp_path, "", sheet=sheet_xml('<row r="1"><c r="A1" t="str"><v>&a;</v></c></row>', head))
    parsers.check_xlsx_safety(str(path), parsers.Limits())  # the cheap scan misses it ...

    assert refusal(path).startswith(DAMAGED)  # ... the reader does not


def test_a_doctype_in_the_shared_strings_is_refused(tmp_path):
    path = handmade(tmp_path, '<row r="1"><c r="A1" t="s"><v>0</v></c></row>', ("<t>a</t>",))
    padding = b"<!--" + b" " * 5000 + b"-->"
    rewrite_member(
        path,
        "xl/sharedStrings.xml",
        lambda xml: b'<?xml version="1.0"?>' + padding + b'<!DOCTYPE sst [<!ENTITY a "a">]>' + xml,
    )

    assert refusal(path).startswith(DAMAGED)


def test_a_truncated_workbook_is_refused_with_a_sentence(tmp_path):
    path = openpyxl_workbook(tmp_path, [["a", "b"]] + [[n, f"text {n}"] for n in range(3000)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    assert "damaged" in refusal(path)


def test_a_sheet_part_the_workbook_names_but_lacks_is_skipped_as_openpyxl_skips_it(tmp_path):
    path = handmade(tmp_path, '<row r="1"><c r="A1"><v>1</v></c></row>')
    with zipfile.ZipFile(path) as archive:
        parts = {
            name: archive.read(name) for name in archive.namelist() if name != "xl/worksheets/sheet1.xml"
        }
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)

    assert records(path) == list(openpyxl_records(str(path))) == []
