"""CSV downloads for spreadsheets, produced line by line for a StreamingHttpResponse."""

import csv
import re
from collections.abc import Iterable, Iterator, Sequence

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection); a leading
# apostrophe makes it text. Tab and carriage return are on OWASP's list too.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A spreadsheet may also split a field on ';' (many locales), ',' or tab, whatever the quoting:
# every part that would then start a formula gets its apostrophe too.
_SPLIT_FORMULA = re.compile(r"([;,\t])(\s*)([=+\-@])")


def csv_safe(value) -> str:
    text = "" if value is None else str(value)
    text = _SPLIT_FORMULA.sub(r"\1\2'\3", text)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Line:
    """A file-like sink for csv.writer that hands back each written line."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The header line, then one line per row with every cell quoted and made ``csv_safe``; lazily, so
    memory stays flat however many rows there are."""
    writer = csv.writer(_Line(), quoting=csv.QUOTE_ALL)
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_safe(value) for value in row])
