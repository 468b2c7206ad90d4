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
# In a line written with every field quoted, a field starts at the line's start or after the
# ',' between fields, right after its opening quote. A quote inside a field is doubled, so ','
# and one quote before a formula character is the start of a field - except at the line's end,
# where the quote closing a field that ends in ',' meets the "\r\n" that ends the line.
_FIELD_FORMULA = re.compile(r'(^|,)"(?=[=+\-@\t]|\r(?!\n\Z))')


def csv_safe(value) -> str:
    text = "" if value is None else str(value)
    text = _SPLIT_FORMULA.sub(r"\1\2'\3", text)
    return "'" + text if text.startswith(_FORMULA_START) else text


# A quote and then a formula character: every _FIELD_FORMULA match is one, and most lines have
# none before their closing '"\r\n'. A pattern starting with a plain character is found by a
# quick scan, so this search costs far less than _FIELD_FORMULA's own.
_QUOTED_FORMULA = re.compile(r'"[=+\-@\t\r]')


def _defused(line: str) -> str:
    """``line`` (one row, every field quoted, ending in "\r\n") as if each field had been made
    ``csv_safe``.

    The same rules, applied to the whole line at once: a ``_SPLIT_FORMULA`` match holds no quote
    and so never spans two fields, and doubling a field's quotes neither makes nor breaks one; a
    field's first character is never changed by it, so ``_FIELD_FORMULA`` finds the fields that
    start a formula before or after it (a test compares both ways on random fields). Each
    substitution only after a search says it has work: most lines need none."""
    if _SPLIT_FORMULA.search(line):
        line = _SPLIT_FORMULA.sub(r"\1\2'\3", line)
    if _QUOTED_FORMULA.search(line, 0, len(line) - 2):
        line = _FIELD_FORMULA.sub("\\1\"'", line)
    return line


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
        yield _defused(writer.writerow(row))


def csv_blocks(header: Sequence[str], batches: Iterable[Iterable[Iterable]]) -> Iterator[str]:
    """``csv_lines``, one string per batch of rows: a streamed response then writes a block of
    lines at a time rather than one line per write."""
    writer = csv.writer(_Line(), quoting=csv.QUOTE_ALL)
    row_line = writer.writerow
    yield row_line(header)
    for rows in batches:
        yield "".join([_defused(row_line(row)) for row in rows])
