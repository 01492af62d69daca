"""--rejects PATH: every invalid or refused row as CSV, in the file's line order, encoding and
delimiter: the file's own columns, then line and reason. Fixed, it imports again as it is.

The first pass finds the invalid rows, the second the refused ones, each in line order (the
loaders decide their chunks in file order). Written as found, a refused line 4 came after an
invalid line 6; so the invalid rows wait in a temporary spool file, one record each (line number,
the row as CSV text), and each refused row is written after the spooled rows above it: a merge of
two sorted streams, one record in memory at a time however many rows are rejected. The spool
also waits for the encoding: a file read as UTF-8 may turn out to be CP949, so nothing is written
to PATH before the first pass is over.
"""

from __future__ import annotations

import codecs
import csv
import struct
import tempfile
from typing import IO, Any

from vaxres.files import FORMULA_STARTS, check_output, open_private
from vaxres.imports.charset import Encoding
from vaxres.imports.rows import RowError

_RECORD = struct.Struct("<qI")  # a spooled row: its line, then the length of its text in bytes


class _Text:
    """A csv writer's file that hands each row back (writerow returns what write returns)."""

    @staticmethod
    def write(text: str) -> str:
        return text


class RejectsWriter:
    def __init__(self, path: str | None, *, force: bool = False):
        if path is not None:  # refused before the store is touched; open_private looks again
            check_output(path, option="--rejects", force=force, dash=False)
        self._path = path
        self._force = force
        # Any: opened at the first begin() when there is a PATH; never touched without one.
        self._file: IO[bytes] | Any = None
        self._spool: IO[bytes] | Any = None
        self._encode: Any = None  # set when writing to PATH begins, after the first pass
        self._next: tuple[int, str] | None = None  # the next spooled row to write

    def begin(self, header: list[str], encoding: Encoding, delimiter: str) -> None:
        """A first pass starts (again, when the file is read again as CP949): the rows spooled by
        an earlier start are dropped. PATH is created at the first start."""
        if self._path is None:
            return
        if self._file is None:
            self._file = open_private(self._path, option="--rejects", force=self._force)
            self._spool = tempfile.TemporaryFile()
        self._spool.seek(0)
        self._spool.truncate()
        self._header, self._encoding, self._width = header, encoding, len(header)
        self._render = csv.writer(_Text, delimiter=delimiter).writerow

    def invalid(self, error: RowError) -> None:
        """A row of the first pass, spooled until the refused rows come."""
        if self._spool is not None:
            data = self._row(error).encode("utf-8", "surrogatepass")
            self._spool.write(_RECORD.pack(error.line, len(data)) + data)

    def refused(self, error: RowError) -> None:
        """A row of the second pass, after the spooled rows above it."""
        if self._file is None:
            return
        self._start()
        while self._next is not None and self._next[0] < error.line:
            self._put(self._next[1])
            self._next = self._spooled()
        self._put(self._row(error))

    def close(self) -> None:
        if self._file is None:
            return
        try:
            self._start()
            while self._next is not None:
                self._put(self._next[1])
                self._next = self._spooled()
        finally:
            self._spool.close()
            self._file.close()

    def _row(self, error: RowError) -> str:
        """The row as CSV text. A cell a spreadsheet would run as a formula gets a leading
        apostrophe (OWASP's advice for CSV injection); the line number stays a number."""
        cells = error.cells
        if len(cells) != self._width:
            cells = (cells + [""] * self._width)[: self._width]
        starts = FORMULA_STARTS
        row: list[Any] = ["'" + cell if cell.startswith(starts) else cell for cell in (*cells, error.describe())]
        row.insert(len(cells), error.line)
        return self._render(row)

    def _start(self) -> None:
        """Once: the byte-order mark and the header in the input's encoding, then the spool from its start."""
        if self._encode is not None:
            return
        bom, codec = self._encoding.writer()
        self._file.write(bom)
        self._encode = codecs.getincrementalencoder(codec)("backslashreplace").encode
        self._put(self._render([*self._header, "line", "reason"]))
        self._spool.seek(0)
        self._next = self._spooled()

    def _put(self, text: str) -> None:
        """A row in the input's encoding. A character it cannot hold (only the reason column can
        have one) is written as a \\u escape; a codec that ignores error handlers gets UTF-8."""
        try:
            data = self._encode(text)
        except UnicodeError:
            data = text.encode("utf-8", "backslashreplace")
        self._file.write(data)

    def _spooled(self) -> tuple[int, str] | None:
        head = self._spool.read(_RECORD.size)
        if not head:
            return None
        line, size = _RECORD.unpack(head)
        return line, self._spool.read(size).decode("utf-8", "surrogatepass")

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
