"""Which encoding an import reads its file in, and the one its --rejects file is written in.

Without --encoding, a byte-order mark names UTF-8, UTF-16 or UTF-32; otherwise the file is read
as UTF-8 and, at the first line that is not UTF-8 but is CP949 (Korean Excel's plain "CSV", a
superset of EUC-KR), read again from its start as CP949. The first pass reads the whole file
before the second pass commits anything, so a file is never half imported in the wrong encoding.
A file is read again by seeking back; standard input and pipes from a copy of their first
REPLAY bytes, past which vaxres asks for --encoding instead.
"""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass, replace
from typing import IO, Any

from vaxres.errors import InvalidInput

REPLAY = 4 << 20  # bytes of standard input kept so that it can be read again as CP949
_CHUNK = 1 << 16
# The longer marks first: UTF-32-LE's starts with UTF-16-LE's.
_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16-be"),
)


@dataclass(frozen=True)
class Encoding:
    codec: str  # what the lines are decoded with ('utf-16' reads its own mark)
    bom: bytes = b""  # the byte-order mark the file starts with
    detected: bool = False  # no --encoding and no mark: UTF-8 that may turn out to be CP949
    not_utf8_line: int | None = None  # read as CP949 because this line is not UTF-8

    @property
    def name(self) -> str:
        """As the summary says it: utf-8, utf-8-sig (with a mark), cp949, utf-16, ..."""
        return "utf-8-sig" if self.codec == "utf-8" and self.bom else self.codec

    @property
    def wide(self) -> bool:
        return self.codec.startswith(("utf-16", "utf-32"))

    def as_cp949(self, line: int) -> Encoding:
        return replace(self, codec="cp949", detected=False, not_utf8_line=line)

    def writer(self) -> tuple[bytes, str]:
        """The mark and the codec that write a file the way this one was read: UTF-8 with its
        mark when the input had one, UTF-16 and UTF-32 with the input's mark and byte order."""
        for bom, family, codec in _MARKS:
            if self.bom == bom and self.codec == family:
                return bom, codec
        return b"", self.codec


def detect(source: Source, given: str | None) -> Encoding:
    """The file's encoding from --encoding, or its byte-order mark, or UTF-8 to be confirmed."""
    codec = None
    if given is not None:
        try:
            info = codecs.lookup(given)
        except LookupError:
            info = None
        if info is None or not getattr(info, "_is_text_encoding", True):  # rot13, base64: not bytes to text
            raise InvalidInput(f"unknown encoding {given!r}; try utf-8 or cp949")
        # A UTF-8 file may or may not start with a byte-order mark; accept both.
        codec = "utf-8" if info.name == "utf-8-sig" else info.name
    head = source.stream.read(4)
    source.rewind()
    for bom, family, _codec in _MARKS:
        if head.startswith(bom) and codec in (None, family):
            source.settle()
            return Encoding(family, bom)
    if codec is None:
        return Encoding("utf-8", detected=True)
    source.settle()
    return Encoding(codec)


def not_decodable(number: int, raw: bytes, exc: UnicodeError, encoding: Encoding) -> InvalidInput:
    """The error for a line that does not decode; NotUtf8 when it may be read again as CP949."""
    if isinstance(exc, UnicodeDecodeError):
        where = f"(byte {exc.object[exc.start : exc.start + 1]!r} at column {exc.start + 1})"
    else:  # a codec that says no more than why, such as idna
        where = f"({exc})"
    cp949 = _decodes(raw, "cp949")
    if encoding.detected:
        if cp949:
            return NotUtf8(number)
        return InvalidInput(
            f"line {number} is neither utf-8 nor cp949 {where}; give the file's encoding with --encoding NAME"
        )
    if encoding.not_utf8_line is not None:
        return InvalidInput(
            f"line {number} is not valid cp949 {where}, and line {encoding.not_utf8_line} is not valid utf-8: "
            f"the file mixes encodings or is in another one; give it with --encoding NAME"
        )
    hint = ""
    if encoding.codec == "utf-8" and cp949:
        hint = "; the bytes look like Korean CP949 (EUC-KR): try --encoding cp949"
    return InvalidInput(f"line {number} is not valid {encoding.codec} {where}{hint}")


class NotUtf8(InvalidInput):
    """A line is not UTF-8 but is CP949, and no encoding was given: read the file again as CP949."""

    def __init__(self, line: int):
        super().__init__(
            f"line {line} is not valid utf-8 and looks like Korean CP949 (EUC-KR), but standard input "
            f"cannot be read again from the start past its first {REPLAY >> 20} MiB: pass --encoding cp949",
            details={"line": line, "looks_like": "cp949"},
        )
        self.line = line


def _decodes(raw: bytes, codec: str) -> bool:
    try:
        raw.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


class Source:
    """The input's bytes, readable again from the start until the encoding is settled: a file by
    seeking back, standard input or a pipe from a copy of its first REPLAY bytes."""

    def __init__(self, raw: IO[bytes]):
        self._replay: _Replay | None = None
        if raw.seekable():
            self._start = raw.tell()
            self.stream = raw
        else:
            self._replay = _Replay(raw)
            self.stream = io.BufferedReader(self._replay, _CHUNK)

    def rewind(self) -> bool:
        """Back to the start; False when standard input went past what was kept."""
        if self._replay is None:
            self.stream.seek(self._start)
            return True
        if not self._replay.rewind():
            return False
        self.stream = io.BufferedReader(self._replay, _CHUNK)
        return True

    def settle(self) -> None:
        """The encoding is known: keep no more of standard input."""
        if self._replay is not None:
            self._replay.keeping = False


class _Replay(io.RawIOBase):
    """A stream that cannot seek, its first REPLAY bytes kept so that it can be read again."""

    def __init__(self, stream: IO[bytes]):
        self._read = getattr(stream, "read1", stream.read)
        self._kept = bytearray()
        self.keeping = True  # every byte read so far is in _kept
        self._at = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Left open when a reader of it is dropped at a rewind; the source is closed by its owner."""

    def readinto(self, buffer: Any) -> int:
        kept = self._kept
        data: bytes | bytearray
        if self._at < len(kept):
            data = kept[self._at : self._at + len(buffer)]
        else:
            data = self._read(min(len(buffer), _CHUNK))
            if self.keeping and len(kept) + len(data) <= REPLAY:
                kept.extend(data)
            elif kept or self.keeping:  # past the bound, or replayed and settled: let it go
                self.keeping = False
                self._kept = bytearray()
        self._at += len(data)
        buffer[: len(data)] = data
        return len(data)

    def rewind(self) -> bool:
        if not self.keeping:
            return False
        self._at = 0
        return True
