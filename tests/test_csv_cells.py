"""CSV exports: every field quoted, and no cell a spreadsheet would run as a formula — also
when the spreadsheet splits cells on ``;`` (many European locales) instead of ``,``."""

import csv
import io

import pytest

from portal.core.csv import csv_lines, csv_safe


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('Mozilla;=HYPERLINK("http://x")', 'Mozilla;\'=HYPERLINK("http://x")'),
        ("a; +1", "a; '+1"),
        ("x,@SUM(A1)", "x,'@SUM(A1)"),
        ("tab\t-2", "tab\t'-2"),
        ("=1", "'=1"),
        ("plain; text, here", "plain; text, here"),
    ],
)
def test_every_segment_a_spreadsheet_may_split_off_is_defused(value, expected):
    assert csv_safe(value) == expected


def _semicolon_cells(line: str) -> list[str]:
    """How a spreadsheet that splits on ';' and ignores nothing else would see the line."""
    return [cell.strip().strip('"') for cell in line.split(";")]


def test_every_field_is_quoted_and_no_semicolon_cell_starts_a_formula():
    lines = list(csv_lines(["agent", "n"], [['Mozilla;=HYPERLINK("http://evil")', 3]]))
    assert lines[1].startswith('"') and '"3"' in lines[1]
    for cell in _semicolon_cells(lines[1]):
        assert not cell.startswith(("=", "+", "-", "@"))
    # And it still parses back as CSV.
    row = next(csv.reader(io.StringIO(lines[1])))
    assert row == ['Mozilla;\'=HYPERLINK("http://evil")', "3"]
