"""Reading a CSV file as a stream of cells: decoding, the delimiter, the header. No database here.

A file is read line by line, so memory stays flat, a decoding error names its line, and the
header decides the column mapping (any order, any case, English or Korean aliases).

Nothing is read without a bound: a line at most MAX_LINE bytes (read with a bounded readline, so a
file without line breaks, such as /dev/zero, stops there), a value at most MAX_FIELD characters
(csv.field_size_limit, checked character by character as the csv module builds the value, also
across the lines of a quoted value), a row at most MAX_ROW characters (a row whose quoted values
span lines, counted as its lines are handed to the csv module). Beyond a bound: exit 2, naming
the line.
"""

from __future__ import annotations

import csv
import functools
import io
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast

from vaxres.errors import InvalidInput
from vaxres.imports.charset import Encoding, not_decodable
from vaxres.paths import check_length, too_long

ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("date", "접종일자", "접종일", "날짜"),
    "hospital": ("hospital", "접종병원", "병원", "병원명"),
    "vaccine": ("vaccine", "백신", "백신종류", "백신명"),
    "quantity": ("quantity", "qty", "doses", "수량"),
    "user": ("user", "user_id", "예약자", "사용자"),
    "dose": ("dose", "차수"),
    # import persons (issue 20)
    "id": ("id", "person", "person_id", "아이디", "식별자"),
    "name": ("name", "이름", "성명"),
    "rrn": ("rrn", "주민등록번호", "주민번호"),
    "birth_date": ("birth_date", "birth date", "생년월일"),
    "sex": ("sex", "성별"),
    "phone": ("phone", "전화번호", "휴대전화", "휴대폰", "연락처"),
    "email": ("email", "e-mail", "이메일", "전자우편"),
    "lang": ("lang", "language", "언어"),
    "guardian": ("guardian", "보호자"),
    "groups": ("groups", "group", "그룹"),
}
SLOT_HEADERS = ("date", "hospital", "vaccine", "quantity")
RESERVATION_HEADERS = ("user", "date", "hospital", "vaccine")
PERSON_HEADERS = ("id",)
PERSON_OPTIONAL = ("name", "rrn", "birth_date", "sex", "phone", "email", "lang", "guardian", "groups")
DELIMITERS = (",", ";", "\t")
MAX_FIELD = 10_000  # characters in one value
MAX_LINE = 1 << 20  # bytes in one line, line break included (characters for UTF-16 and UTF-32)
MAX_ROW = 1 << 20  # characters in one row, whose quoted values may hold line breaks
_CHUNK = 1 << 16  # bytes handed at a time to the decoder of UTF-16 and UTF-32


def _header_key(name: str) -> str:
    return unicodedata.normalize("NFC", name).replace("\ufeff", "").strip().casefold()


_CANONICAL = {_header_key(alias): column for column, names in ALIASES.items() for alias in names}


def open_source(name: str) -> tuple[IO[bytes], int | None]:
    """The file's binary stream and size (None for stdin and pipes)."""
    if name == "-":
        return sys.stdin.buffer, None
    check_length(name, option="FILE")
    path = Path(name)
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        raise InvalidInput(f"cannot read {name}: no such file") from None
    except IsADirectoryError:
        raise InvalidInput(f"cannot read {name}: it is a folder; give a CSV file") from None
    except OSError as exc:
        raise too_long(exc, option="FILE") or InvalidInput(f"cannot read {name}: {exc.strerror}") from None
    return stream, path.stat().st_size if stream.seekable() else None


def same_file(first: str, second: str) -> bool:
    try:
        return Path(first).resolve() == Path(second).resolve()
    except OSError:
        return False


def _line_too_long(number: int, unit: str) -> InvalidInput:
    return InvalidInput(
        f"line {number} is longer than {MAX_LINE:,} {unit}, the most vaxres reads as one line "
        f"(a value holds at most {MAX_FIELD:,} characters); is this a CSV file?"
    )


def decoded_lines(stream: IO[bytes], encoding: Encoding) -> Iterator[str]:
    """Decode line by line, so that a bad byte is reported with its line number.

    In UTF-8 and the legacy Korean, Japanese and Chinese encodings a newline byte never occurs
    inside a character, so each line decodes on its own. No line is read past MAX_LINE bytes.
    """
    if encoding.wide:
        yield from _wide_lines(stream, encoding.codec)
        return
    codec = encoding.codec
    if encoding.bom and codec == "utf-8":
        stream.read(len(encoding.bom))
    lines = iter(functools.partial(stream.readline, MAX_LINE + 1), b"")
    for number, raw in enumerate(lines, start=1):
        if len(raw) > MAX_LINE:
            raise _line_too_long(number, "bytes")
        try:
            yield raw.decode(codec)
        except UnicodeError as exc:
            raise not_decodable(number, raw, exc, encoding) from None


def _wide_lines(stream: IO[bytes], encoding: str) -> Iterator[str]:
    """UTF-16 and UTF-32: newlines are not single bytes, so the text layer splits the lines; its
    readline(size) decodes a chunk at a time and stops at size characters."""
    readline = io.TextIOWrapper(cast(Any, _Chunks(stream)), encoding=encoding, newline="").readline
    number = 0
    try:
        while line := readline(MAX_LINE + 1):
            number += 1
            if len(line) > MAX_LINE:
                raise _line_too_long(number, "characters")
            yield line
    except UnicodeError as exc:  # decoded a chunk at a time: the bad bytes are on this line or soon after
        where = f" after line {number}" if number else ""
        raise InvalidInput(f"the file is not valid {encoding}{where}: {exc}") from None


class _Chunks(io.RawIOBase):
    """The binary source in chunks for a TextIOWrapper, which closes this and not the source."""

    def __init__(self, stream: IO[bytes]):
        self._read = stream.read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._read(min(len(buffer), _CHUNK))
        buffer[: len(data)] = data
        return len(data)


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


class CsvTable:
    """The header's column mapping and an iterator of (line number, cells) for the data rows."""

    def __init__(
        self,
        lines: Iterable[str],
        *,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
        delimiter: str | None = None,
        source: str = "the file",
    ):
        lines = iter(lines)
        first = ""
        blank_lines = 0
        for first in lines:
            if first.strip():
                break
            blank_lines += 1
        else:
            raise InvalidInput(f"{source} is empty: expected a header row with the columns {', '.join(required)}")
        if delimiter is None:
            delimiter = sniff_delimiter(first)
        elif delimiter not in DELIMITERS:
            raise InvalidInput("--delimiter must be ',', ';' or a tab ('\\t')")
        self.delimiter = delimiter
        csv.field_size_limit(MAX_FIELD)
        self._row_chars = 0  # characters handed to the csv module for the row being read
        self._reader = csv.reader(self._feed(first, lines), delimiter=delimiter)
        self._line_offset = blank_lines
        try:
            header = next(self._reader)
        except (csv.Error, _RowTooLong) as exc:
            raise self._unreadable(exc, blank_lines + 1) from None
        self._row_chars = 0
        self.header = header
        self.positions = self._map_header(header, required, optional, source)

    @staticmethod
    def _map_header(
        header: list[str], required: tuple[str, ...], optional: tuple[str, ...], source: str
    ) -> dict[str, int]:
        positions: dict[str, int] = {}
        for index, name in enumerate(header):
            column = _CANONICAL.get(_header_key(name))
            if column is None or column not in required + optional:
                continue
            if column in positions:
                raise InvalidInput(
                    f"{source} has two columns for {column}: {header[positions[column]]!r} and {name!r}; keep one"
                )
            positions[column] = index
        missing = [column for column in required if column not in positions]
        if missing:
            found = ", ".join(repr(name) for name in header) or "none"
            raise InvalidInput(
                f"{source} has no {_either(missing)} column (headers found: {found}); required: {', '.join(required)}",
                details={"missing": missing, "required": list(required)},
            )
        return positions

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        reader = self._reader
        offset = self._line_offset + 1
        previous_end = reader.line_num
        try:
            for cells in reader:
                self._row_chars = 0
                start = previous_end + offset
                previous_end = reader.line_num
                # Blank rows are skipped; a row with a first cell is not blank (the common case).
                if cells and (cells[0].strip() or "".join(cells).strip()):
                    yield start, cells
        except (csv.Error, _RowTooLong) as exc:
            raise self._unreadable(exc, previous_end + offset) from None

    def _feed(self, first: str, rest: Iterator[str]) -> Iterator[str]:
        """The lines for the csv module, counting the characters of the row they make up (rows()
        sets the count back to 0 at each row): a row spanning lines stops at MAX_ROW."""
        self._row_chars = len(first)
        yield first
        for line in rest:
            self._row_chars += len(line)
            if self._row_chars > MAX_ROW:
                raise _RowTooLong
            yield line

    def _unreadable(self, exc: Exception, start: int) -> InvalidInput:
        """A csv error or a row too long, for the row starting on line `start`."""
        reached = self._reader.line_num + self._line_offset  # the last line handed to the csv module
        if isinstance(exc, _RowTooLong):
            return InvalidInput(
                f"line {start}: the row starting here is longer than {MAX_ROW:,} characters "
                f"(read up to line {reached + 1}); is a quote left open?"
            )
        if "field limit" not in str(exc):
            return InvalidInput(f"line {reached}: {exc}")
        if reached == start:
            return InvalidInput(f"line {start}: a value is longer than {MAX_FIELD:,} characters")
        return InvalidInput(
            f"line {start}: a value in the row starting here is longer than {MAX_FIELD:,} characters "
            f"(read up to line {reached}); is a quote left open?"
        )


class _RowTooLong(Exception):
    pass


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def table_for(
    stream: IO[bytes],
    *,
    encoding: Encoding,
    delimiter: str | None,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    source: str,
) -> CsvTable:
    return CsvTable(
        decoded_lines(stream, encoding),
        required=required,
        optional=optional,
        delimiter=delimiter,
        source=source,
    )
