"""Reading a CSV file as a stream of cells: decoding, the delimiter, the header. No database here.

A file is read line by line, so memory stays flat, a decoding error names its line, and the
header decides the column mapping (any order, any case, English or Korean aliases).
"""

from __future__ import annotations

import codecs
import csv
import io
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from vaxres.errors import InvalidInput

ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("date", "접종일자", "날짜"),
    "hospital": ("hospital", "접종병원", "병원"),
    "vaccine": ("vaccine", "백신", "백신종류"),
    "quantity": ("quantity", "qty", "doses", "수량"),
    "user": ("user", "user_id", "예약자", "사용자"),
    "dose": ("dose", "차수"),
}
SLOT_HEADERS = ("date", "hospital", "vaccine", "quantity")
RESERVATION_HEADERS = ("user", "date", "hospital", "vaccine")
DELIMITERS = (",", ";", "\t")
MAX_FIELD = 10_000


def _header_key(name: str) -> str:
    return unicodedata.normalize("NFC", name).replace("\ufeff", "").strip().casefold()


_CANONICAL = {_header_key(alias): column for column, names in ALIASES.items() for alias in names}


def open_source(name: str) -> tuple[IO[bytes], int | None]:
    """The file's binary stream and size (None for stdin)."""
    if name == "-":
        return sys.stdin.buffer, None
    path = Path(name)
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        raise InvalidInput(f"cannot read {name}: no such file") from None
    except IsADirectoryError:
        raise InvalidInput(f"cannot read {name}: it is a folder; give a CSV file") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {name}: {exc.strerror}") from None
    return stream, path.stat().st_size


def same_file(first: str, second: str) -> bool:
    try:
        return Path(first).resolve() == Path(second).resolve()
    except OSError:
        return False


def resolve_encoding(encoding: str | None) -> str:
    name = encoding or "utf-8"
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise InvalidInput(f"unknown encoding {name!r}; try utf-8 or cp949") from None
    # A UTF-8 file may or may not start with a byte-order mark; accept both.
    return "utf-8-sig" if info.name in ("utf-8", "utf-8-sig") else info.name


def _looks_like_cp949(raw: bytes) -> bool:
    try:
        raw.decode("cp949")
    except UnicodeDecodeError:
        return False
    return True


def decoded_lines(lines: Iterable[bytes], encoding: str) -> Iterator[str]:
    """Decode line by line, so that a bad byte is reported with its line number.

    In UTF-8 and the legacy Korean, Japanese and Chinese encodings a newline byte never occurs
    inside a character, so each line decodes on its own.
    """
    if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
        # Newlines are not single bytes there: let the text layer split the lines.
        yield from io.TextIOWrapper(_IterStream(lines), encoding=encoding, newline="")
        return
    plain = "utf-8" if encoding == "utf-8-sig" else encoding
    number = 0
    lines = iter(lines)
    for number, raw in enumerate(lines, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8) and plain == "utf-8":
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield raw.decode(plain)
        except UnicodeDecodeError as exc:
            hint = ""
            if plain == "utf-8" and _looks_like_cp949(raw):
                hint = "; the bytes look like Korean CP949 (EUC-KR): try --encoding cp949"
            raise InvalidInput(
                f"line {number} is not valid {plain} "
                f"(byte {exc.object[exc.start:exc.start + 1]!r} at column {exc.start + 1}){hint}"
            ) from None


class _IterStream(io.RawIOBase):
    def __init__(self, lines: Iterable[bytes]):
        self._lines = iter(lines)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._lines)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


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
            raise InvalidInput(
                f"{source} is empty: expected a header row with the columns {', '.join(required)}"
            )
        if delimiter is None:
            delimiter = sniff_delimiter(first)
        elif delimiter not in DELIMITERS:
            raise InvalidInput("--delimiter must be ',', ';' or a tab ('\\t')")
        csv.field_size_limit(MAX_FIELD)
        self._reader = csv.reader(_chain(first, lines), delimiter=delimiter)
        self._line_offset = blank_lines
        header = next(self._reader)
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
                f"{source} has no {_either(missing)} column (headers found: {found}); "
                f"required: {', '.join(required)}; see docs/import.md for the accepted names"
            )
        return positions

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        reader = self._reader
        offset = self._line_offset + 1
        previous_end = reader.line_num
        try:
            for cells in reader:
                start = previous_end + offset
                previous_end = reader.line_num
                # Blank rows are skipped; a row with a first cell is not blank (the common case).
                if cells and (cells[0].strip() or "".join(cells).strip()):
                    yield start, cells
        except csv.Error as exc:
            raise InvalidInput(f"line {reader.line_num + self._line_offset}: {exc}") from None


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def table_for(
    stream: Iterable[bytes],
    *,
    encoding: str | None,
    delimiter: str | None,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    source: str,
) -> CsvTable:
    return CsvTable(
        decoded_lines(stream, resolve_encoding(encoding)),
        required=required,
        optional=optional,
        delimiter=delimiter,
        source=source,
    )

