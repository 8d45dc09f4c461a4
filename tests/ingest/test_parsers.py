"""The upload parser, without a database: encodings, delimiters, line numbers, hostile files."""

import datetime
import os
import types
import zipfile

import openpyxl
import pytest

from ingest import parsers
from ingest.parsers import (
    EXTRA,
    FileRefused,
    Limits,
    Row,
    count_data_rows,
    detect_delimiter,
    detect_encoding,
    normalize_header,
    read_header_and_rows,
)

EXPECTED = {"date", "user_id", "quantity", "total_amount", "note"}
REQUIRED = {"date", "user_id", "quantity"}
WORKBOOK_XML = (
    b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
)
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<workbook>&lol3;</workbook>"""


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def read(path, filename=None, **limits):
    header, rows = read_header_and_rows(
        path,
        filename or os.path.basename(path),
        expected=EXPECTED,
        required=REQUIRED,
        limits=Limits(**limits),
    )
    return header, list(rows)


def refusal(path, filename=None, **limits):
    with pytest.raises(FileRefused) as caught:
        read(path, filename, **limits)
    return str(caught.value)


def write_zip(tmp_path, name, members):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return str(path)


def write_xlsx(tmp_path, rows, name="data.xlsx", write_only=False):
    workbook = openpyxl.Workbook(write_only=write_only)
    sheet = workbook.create_sheet("data") if write_only else workbook.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return str(path)


def rewrite_member(path, member, transform):
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts[member] = transform(parts[member])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


# --- CSV: encodings, delimiters, line endings ---------------------------------------------------


def test_a_utf8_csv_yields_rows_with_user_line_numbers_and_stripped_values(tmp_path):
    path = write(tmp_path, "usage.csv", b"date,user_id,quantity\n2024-01-01, u1 ,3\n2024-01-02,u2,4\n")

    header, rows = read(path)

    assert header == ["date", "user_id", "quantity"]
    assert rows == [
        Row(2, {"date": "2024-01-01", "user_id": "u1", "quantity": "3"}),
        Row(3, {"date": "2024-01-02", "user_id": "u2", "quantity": "4"}),
    ]


def test_a_utf8_bom_does_not_leak_into_the_first_header(tmp_path):
    path = write(tmp_path, "usage.csv", "\ufeffdate,user_id,quantity\n2024-01-01,Zoë,3\n".encode())

    header, rows = read(path)

    assert header[0] == "date"
    assert rows[0].values["user_id"] == "Zoë"


def test_utf16_with_bom_as_excel_unicode_text_is_read(tmp_path):
    text = "date\tuser_id\tquantity\r\n2024-01-01\tJosé\t3\r\n"
    path = write(tmp_path, "usage.csv", b"\xff\xfe" + text.encode("utf-16-le"))

    _, rows = read(path)

    assert rows == [Row(2, {"date": "2024-01-01", "user_id": "José", "quantity": "3"})]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_read_not_refused_as_binary(tmp_path, codec):
    text = "date,user_id,quantity\r\n2024-01-01,José,3\r\n2024-01-02,Zoë,4\r\n"
    path = write(tmp_path, "usage.csv", text.encode(codec))

    _, rows = read(path)

    assert [row.values["user_id"] for row in rows] == ["José", "Zoë"]
    assert count_data_rows(path, "usage.csv") == 2


def test_binary_with_a_nul_as_every_other_byte_is_still_refused(tmp_path):
    controls = [char for char in range(1, 32) if chr(char) not in "\t\r\n"]
    path = write(tmp_path, "usage.csv", bytes(byte for char in controls for byte in (char, 0)) * 4)

    assert "neither a CSV nor an Excel file" in refusal(path)


def test_cp1252_is_detected_when_the_text_is_not_utf8(tmp_path):
    path = write(tmp_path, "usage.csv", "date;user_id;quantity\n2024-01-01;Café Müller;3\n".encode("cp1252"))

    _, rows = read(path)

    assert rows[0].values["user_id"] == "Café Müller"


def test_cp1252_is_detected_even_when_the_first_accent_comes_after_the_sniffed_head(tmp_path):
    ascii_rows = "2024-01-01,u1,1\n" * 5000  # 80 KB, beyond the 64 KB head
    data = f"date,user_id,quantity\n{ascii_rows}2024-01-02,Café,2\n".encode("cp1252")
    path = write(tmp_path, "usage.csv", data)

    _, rows = read(path)

    assert rows[-1] == Row(5002, {"date": "2024-01-02", "user_id": "Café", "quantity": "2"})


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_each_supported_delimiter_is_detected(tmp_path, delimiter):
    text = delimiter.join(["date", "user_id", "quantity"]) + "\n" + delimiter.join(["2024-01-01", "u1", "3"])
    path = write(tmp_path, "usage.csv", text.encode())

    _, rows = read(path)

    assert rows == [Row(2, {"date": "2024-01-01", "user_id": "u1", "quantity": "3"})]


def test_crlf_line_endings_leave_no_carriage_returns_in_values(tmp_path):
    path = write(tmp_path, "usage.csv", b"date,user_id,quantity\r\n2024-01-01,u1,3\r\n2024-01-02,u2,4\r\n")

    _, rows = read(path)

    assert [row.line for row in rows] == [2, 3]
    assert rows[1].values["quantity"] == "4"


def test_quoted_fields_keep_delimiters_and_newlines_and_later_rows_keep_their_physical_line(tmp_path):
    data = (
        b"date,user_id,quantity,note\r\n"
        b'2024-01-01,u1,1,"first line\r\nsecond, with a comma"\r\n'
        b'2024-01-02,"u,2",2,plain\r\n'
    )
    path = write(tmp_path, "usage.csv", data)

    _, rows = read(path)

    assert rows[0] == Row(
        2,
        {
            "date": "2024-01-01",
            "user_id": "u1",
            "quantity": "1",
            "note": "first line\r\nsecond, with a comma",
        },
    )
    assert rows[1] == Row(4, {"date": "2024-01-02", "user_id": "u,2", "quantity": "2", "note": "plain"})


def test_blank_rows_are_skipped_without_shifting_line_numbers(tmp_path):
    path = write(
        tmp_path, "usage.csv", b"\ndate,user_id,quantity\n\n2024-01-01,u1,3\n , ,\n2024-01-02,u2,4\n"
    )

    _, rows = read(path)

    assert [row.line for row in rows] == [4, 6]


def test_surplus_cells_go_to_extra_and_missing_cells_are_empty(tmp_path):
    data = b"date;user_id;quantity\n2024-01-01;u1;3;x;y\n2024-01-02;u2\n2024-01-03;u3;5;;\n"
    path = write(tmp_path, "usage.csv", data)

    _, rows = read(path)

    assert rows[0].values == {"date": "2024-01-01", "user_id": "u1", "quantity": "3", EXTRA: "x;y"}
    assert rows[1].values == {"date": "2024-01-02", "user_id": "u2", "quantity": ""}
    assert EXTRA not in rows[2].values  # a trailing delimiter is not data


def test_an_empty_file_and_a_header_only_file_are_not_errors(tmp_path):
    assert read(write(tmp_path, "empty.csv", b"")) == ([], [])
    assert read(write(tmp_path, "header.csv", b"date,user_id,quantity\r\n")) == (
        ["date", "user_id", "quantity"],
        [],
    )


# --- Headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        (" Total Amount ", "total_amount"),
        ("TOTAL-AMOUNT", "total_amount"),
        ("Total -  Amount", "total_amount"),
        ("Total\u00a0Amount", "total_amount"),
        ("\ufeffDate", "date"),
        ("ï»¿user_id", "user_id"),
    ],
)
def test_header_names_are_case_space_and_hyphen_insensitive(raw, normalized):
    assert normalize_header(raw) == normalized


def test_header_variants_in_a_file_are_normalized(tmp_path):
    path = write(tmp_path, "usage.csv", b" Date ,USER-ID,Quantity,Total  Amount\n2024-01-01,u1,3,9.50\n")

    header, rows = read(path)

    assert header == ["date", "user_id", "quantity", "total_amount"]
    assert rows[0].values["total_amount"] == "9.50"


def test_missing_and_unknown_columns_are_named_with_the_expected_ones(tmp_path):
    path = write(tmp_path, "usage.csv", b"date,user_id,qty\n2024-01-01,u1,3\n")

    assert refusal(path) == (
        "Missing required column(s): quantity. Unknown column(s): qty. "
        "Expected: date, note, quantity, total_amount, user_id "
        "(header names are matched case- and space-insensitively)."
    )


def test_a_column_repeated_after_normalization_is_refused(tmp_path):
    path = write(tmp_path, "usage.csv", b"Date,user_id,quantity,date\n")

    assert "“date” appears twice (also as “Date”)" in refusal(path)


def test_a_column_without_a_header_is_refused(tmp_path):
    path = write(tmp_path, "usage.csv", b"date,,user_id,quantity\n")

    assert refusal(path).startswith("Column 2 has no header.")


# --- XLSX --------------------------------------------------------------------------------------


def test_xlsx_cells_become_text_and_lines_are_sheet_rows(tmp_path):
    path = write_xlsx(
        tmp_path,
        [
            ["Date", "User ID", "Quantity", "Total Amount", "Note"],
            [datetime.date(2024, 1, 31), 42, 3, 19.5, None],
            [],
            [datetime.datetime(2024, 2, 1, 13, 45), "u2", 4.0, 0.1 + 0.2, "  hi  "],
        ],
    )

    header, rows = read(path)

    assert header == ["date", "user_id", "quantity", "total_amount", "note"]
    assert rows == [
        Row(2, {"date": "2024-01-31", "user_id": "42", "quantity": "3", "total_amount": "19.5", "note": ""}),
        Row(
            4,
            {
                "date": "2024-02-01T13:45:00",
                "user_id": "u2",
                "quantity": "4",
                "total_amount": "0.3",
                "note": "hi",
            },
        ),
    ]


def test_xlsx_content_wins_over_a_csv_name(tmp_path):
    path = write_xlsx(tmp_path, [["date", "user_id", "quantity"], ["2024-01-01", "u1", 3]], name="usage.csv")

    _, rows = read(path)

    assert rows[0].values["quantity"] == "3"


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory):
    """A workbook-shaped zip whose sheet is 600 MB of zeros, about 600 KB on disk."""
    path = tmp_path_factory.mktemp("bomb") / "report.xlsx"
    zeros = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", WORKBOOK_XML)
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(600):
                member.write(zeros)
    return str(path)


def test_a_zip_bomb_is_refused_without_being_extracted(zip_bomb, monkeypatch):
    def no_extraction(*args, **kwargs):
        raise AssertionError("a member was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_extraction)

    assert os.path.getsize(zip_bomb) < 1024 * 1024
    assert "zip bomb" in refusal(zip_bomb, max_xlsx_uncompressed=10**12)  # by ratio alone
    assert "zip bomb" in refusal(zip_bomb)


def test_a_workbook_expanding_beyond_the_limit_is_refused(tmp_path):
    path = write_xlsx(tmp_path, [["date", "user_id", "quantity"]])

    assert "above the 1.0 KB limit" in refusal(path, max_xlsx_uncompressed=1024)


def test_billion_laughs_inside_an_xlsx_is_refused(tmp_path):
    path = write_zip(tmp_path, "report.xlsx", {"xl/workbook.xml": BILLION_LAUGHS})

    assert "billion laughs" in refusal(path)


def test_entities_hidden_beyond_the_scanned_prolog_are_still_stopped_by_the_reader(tmp_path):
    path = write_xlsx(tmp_path, [["date", "user_id", "quantity"]])
    padding = b"<!--" + b" " * 5000 + b"-->"
    rewrite_member(
        path,
        "xl/workbook.xml",
        lambda xml: b'<?xml version="1.0"?>' + padding + b'<!DOCTYPE workbook [<!ENTITY a "a">]>' + xml,
    )
    parsers.check_xlsx_safety(path, Limits())  # the cheap scan misses it ...

    assert "damaged or unsafe" in refusal(path)  # ... the parser does not


@pytest.mark.parametrize("member", ["../../etc/cron.d/pulse", "/etc/passwd", "xl/..\\..\\evil.xml"])
def test_a_zip_member_with_a_traversal_or_absolute_path_is_refused(tmp_path, member):
    path = write_zip(tmp_path, "report.xlsx", {"xl/workbook.xml": WORKBOOK_XML, member: b"x"})

    assert "unsafe path" in refusal(path)


def test_a_forged_row_number_beyond_excel_limits_is_refused(tmp_path):
    path = write_xlsx(tmp_path, [["date", "user_id", "quantity"], ["2024-01-01", "u1", 3]])
    rewrite_member(
        path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b'<row r="2"', b'<row r="9999999"')
    )

    assert "more rows than Excel allows" in refusal(path)


# --- Renamed, binary and oversized files ---------------------------------------------------------


def test_a_binary_file_named_csv_is_refused(tmp_path):
    path = write(tmp_path, "usage.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10")

    assert refusal(path) == (
        "“usage.csv” is neither a CSV nor an Excel file. "
        "Export the data again as CSV (UTF-8) or .xlsx and upload that file."
    )


def test_a_csv_renamed_to_xlsx_is_refused(tmp_path):
    path = write(tmp_path, "usage.xlsx", b"date,user_id,quantity\n")

    assert "renamed" in refusal(path)


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = write_zip(tmp_path, "usage.xlsx", {"word/document.xml": b"<document/>"})

    assert "not an Excel workbook: it was probably renamed" in refusal(path)


def test_an_old_xls_workbook_is_refused_with_advice(tmp_path):
    path = write(tmp_path, "usage.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))

    assert "old-style .xls" in refusal(path)


def test_an_oversized_file_is_refused_before_reading(tmp_path):
    path = write(tmp_path, "usage.csv", b"date,user_id,quantity\n2024-01-01,u1,3\n")

    assert refusal(path, max_bytes=10).startswith("The file is 0.0 KB, above the 0.0 KB limit.")


def test_an_endless_line_is_refused_rather_than_read_into_memory(tmp_path):
    path = write(tmp_path, "usage.csv", b"date,user_id,quantity\n" + b"x" * 1_000_001)

    assert refusal(path).startswith("Line 2 is longer than 1,000,000 characters")


def test_an_unclosed_quote_swallowing_the_file_is_refused_with_its_line(tmp_path):
    path = write(
        tmp_path, "usage.csv", b'date,user_id,quantity\n2024-01-01,"u1,3\n' + b"2024-01-02,u2,4\n" * 20_000
    )

    assert refusal(path).startswith("Line ")


# --- Streaming and counting ----------------------------------------------------------------------


def test_rows_are_streamed_and_the_file_is_closed_with_the_iterator(tmp_path, monkeypatch):
    path = write(tmp_path, "usage.csv", b"date,user_id,quantity\n" + b"2024-01-01,u1,3\n" * 100_000)
    opened = []

    def recording_open(*args, **kwargs):
        opened.append(open(*args, **kwargs))  # noqa: SIM115 - the parser closes it, as checked below
        return opened[-1]

    monkeypatch.setattr(parsers, "open", recording_open, raising=False)

    _, rows = read_header_and_rows(path, "usage.csv", expected=EXPECTED, required=REQUIRED)
    assert isinstance(rows, types.GeneratorType)
    assert next(rows).line == 2
    [reading] = [file for file in opened if not file.closed]
    assert reading.tell() < os.path.getsize(path) / 10

    rows.close()
    assert reading.closed


def test_xlsx_rows_are_a_generator_too(tmp_path):
    path = write_xlsx(tmp_path, [["date", "user_id", "quantity"], ["2024-01-01", "u1", 3]])

    _, rows = read_header_and_rows(path, "data.xlsx", expected=EXPECTED, required=REQUIRED)

    assert isinstance(rows, types.GeneratorType)
    rows.close()


@pytest.mark.parametrize("ending", [b"\n", b""])
def test_csv_data_rows_are_counted_with_or_without_a_final_newline(tmp_path, ending):
    path = write(
        tmp_path,
        "usage.csv",
        b"date,user_id,quantity\n" + b"2024-01-01,u1,3\n" * 999 + b"2024-01-02,u2,4" + ending,
    )

    assert count_data_rows(path, "usage.csv") == 1000


@pytest.mark.parametrize("write_only", [False, True], ids=["with-dimension", "without-dimension"])
def test_xlsx_data_rows_are_counted(tmp_path, write_only):
    rows = [["date", "user_id", "quantity"]] + [["2024-01-01", f"u{i}", i] for i in range(1500)]
    path = write_xlsx(tmp_path, rows, write_only=write_only)

    assert count_data_rows(path, "data.xlsx") == 1500


def test_row_end_tags_split_across_chunks_are_counted_once():
    chunks = [b'<row r="1"><c/></ro', b'w><x:row r="2"></x:row', b'><row r="3"/></row>']

    assert parsers._count_row_ends(chunks) == 3


# --- Detection helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "encoding"),
    [
        (b"\xef\xbb\xbfdate", "utf-8-sig"),
        (b"\xff\xfed\x00", "utf-16"),
        (b"\xfe\xff\x00d", "utf-16"),
        ("date,José".encode("utf-16-le"), "utf-16-le"),
        ("date,José".encode("utf-16-be"), "utf-16-be"),
        ("Zoë".encode(), "utf-8"),
        (b"x" * (64 * 1024 - 1) + "ë".encode()[:1], "utf-8"),  # a full head cut inside a character
        ("Zoë".encode()[:-1], "cp1252"),  # the whole file: nothing was cut
        ("Zoë".encode("cp1252"), "cp1252"),
    ],
)
def test_detect_encoding(head, encoding):
    assert detect_encoding(head) == encoding


@pytest.mark.parametrize(
    ("sample", "delimiter"),
    [
        ("date,user_id,quantity\n1;2,3", ","),
        ("date;user_id;quantity\n1,5;2;3", ";"),
        ("date\tuser_id\tquantity\n", "\t"),
        ('"Total, EUR";date;user_id\n', ";"),
        ("\n\ndate;user_id", ";"),
        ("date\n", ","),
    ],
)
def test_detect_delimiter_splits_the_header_into_the_most_columns(sample, delimiter):
    assert detect_delimiter(sample) == delimiter
