"""CSV exports: every field quoted, and no cell a spreadsheet would run as a formula — also
when the spreadsheet splits cells on ``;`` (many European locales) instead of ``,``."""

import csv
import io

import pytest

from portal.core.csv import csv_blocks, csv_lines, csv_safe


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


def _reference_line(row) -> str:
    """Each cell made csv_safe on its own, then written with every field quoted."""
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL).writerow([csv_safe(value) for value in row])
    return out.getvalue()


# Cells built from the characters the rules and the quoting care about, so that formula
# starts, split characters, quotes, line breaks and field edges meet in every arrangement.
_PIECES = ['"', ",", ";", "\t", "\r", "\n", " ", "=", "+", "-", "@", "'", "a", "1", '""', ',"=']


def test_whole_lines_are_defused_exactly_as_cell_by_cell():
    import random

    rng = random.Random(20240601)
    rows = [
        ["".join(rng.choices(_PIECES, k=rng.randint(0, 6))) for _ in range(rng.randint(1, 4))]
        for _ in range(20_000)
    ]
    rows += [[None, 3, 2.5, "=1", "", "a,=b"], ['x,"', "=1"], ["a\r\n", "\r"], ["\t=1", '"=']]
    expected = [_reference_line(row) for row in rows]
    assert list(csv_lines(["h"], rows))[1:] == expected
    blocks = list(csv_blocks(["h"], [rows[:7], rows[7:]]))
    assert blocks[1:] == ["".join(expected[:7]), "".join(expected[7:])]
