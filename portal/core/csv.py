"""CSV downloads for spreadsheets, produced line by line for a StreamingHttpResponse."""

import csv
from collections.abc import Iterable, Iterator, Sequence

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection); a leading
# apostrophe makes it text. Tab and carriage return are on OWASP's list too.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Line:
    """A file-like sink for csv.writer that hands back each written line."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The header line, then one line per row with every cell made ``csv_safe``; lazily, so
    memory stays flat however many rows there are."""
    writer = csv.writer(_Line())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_safe(value) for value in row])
