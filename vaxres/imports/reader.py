"""The first pass of a large `import persons` on a second CPU: a worker process reads and
validates the file (Python's half of the pass) while the import's own process stages the rows
before them (SQLite's half), instead of one process doing both in turn.

The worker is `python -m vaxres.imports.reader`, talking over its standard input and output in
pickles (its own output goes to standard error, so nothing else can land in the channel). It
sends the rows in batches, in file order: the valid rows as staged, the invalid ones as RowErrors
(no exception object: its code and details only, which is what the next step is built from). It
never opens the store: at the first number it asks the import's process for the identity key, so
the key is read, and checked against the store, exactly when one process would. A number never
leaves the worker in clear: rows carry its fingerprint and masked form, as they do in one
process. Standard input, and files too small to repay the worker's start, are read in-process.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

from vaxres.errors import InvalidInput, Unavailable, VaxresError
from vaxres.imports import charset, csvfile
from vaxres.imports.rows import RowError

if TYPE_CHECKING:
    from vaxres.imports.person_rows import PersonParser

WORKER_MIN_BYTES = 8 << 20  # about 80,000 people: below it the worker's start is not repaid
BATCH_ROWS = 2_000
PIPE_BYTES = 1 << 20  # Linux's default most for an unprivileged process


@dataclasses.dataclass(frozen=True)
class Job:
    """The first pass of a person file: what is read and how, everything PersonParser and the CSV
    reader are given, in this process or the worker (`path` None: standard input, read here)."""

    path: str | None
    label: str
    encoding: charset.Encoding
    delimiter: str | None
    today: dt.date
    region: str
    dates_as_text: bool
    keep_cells: bool

    def parser(self, positions: dict[str, int], key: Callable[[], bytes]) -> PersonParser:
        from vaxres.imports.person_rows import PersonParser

        return PersonParser(
            positions,
            today=self.today,
            region=self.region,
            key=key,
            dates_as_text=self.dates_as_text,
            keep_cells=self.keep_cells,
        )


@dataclasses.dataclass
class Findings:
    """What the parser learnt of the whole file, for the checks across rows (person_checks)."""

    used_key: bool
    group_sets: set[str] | None


class ReaderStopped(Unavailable):
    code = "reader_stopped"

    def __init__(self, why: str):
        super().__init__(f"the import's reader process {why}; nothing was written: run the same import again")


def worth_a_worker(job: Job, size: int | None) -> bool:
    """A file of this size (None: standard input or a pipe, which only this process can read)."""
    return job.path is not None and size is not None and size >= WORKER_MIN_BYTES


class Reader:
    """The worker process of one reading of the file; `batches()` yields what it read."""

    def __init__(self, job: Job, key: Callable[[], bytes]):
        self._key = key
        self.findings: Findings | None = None
        self._process = subprocess.Popen(
            [sys.executable, "-m", "vaxres.imports.reader"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            process_group=0,  # a Ctrl-C at the terminal reaches the import's process, which stops this one
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._to: IO[bytes] = self._process.stdin
        self._from: IO[bytes] = self._process.stdout
        _widen(self._from)
        self._send(job)

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker (it is done, or this reading is abandoned) and wait for it."""
        process = self._process
        if process.poll() is None:
            process.kill()
        for pipe in (self._to, self._from):
            try:
                pipe.close()
            except OSError:
                pass
        process.wait()

    def batches(self) -> Iterator[tuple[int, list[tuple], list[RowError], int]]:
        """The file's rows in batches, in file order: (rows read, the valid ones as staged, the
        invalid ones, the bytes read so far); `findings` once the last batch is taken."""
        while True:
            message = self._receive()
            kind = message[0]
            if kind == "rows":
                yield message[1:]
            elif kind == "key":
                self._send(self._key())
            elif kind == "done":
                self.findings = message[1]
                return
            elif kind == "not_utf8":
                raise charset.NotUtf8(message[1])
            elif kind == "invalid":
                raise InvalidInput(message[1], details=message[2])
            else:  # "failed": a bug in the worker, named in one line
                raise ReaderStopped(f"failed ({message[1]})")

    def _send(self, value: object) -> None:
        try:
            _write(self._to, value)
        except BrokenPipeError:
            raise ReaderStopped(self._ended()) from None

    def _receive(self) -> tuple:
        try:
            return pickle.load(self._from)
        except EOFError:
            raise ReaderStopped(self._ended()) from None
        except Exception as error:  # not what a worker of this version sends
            raise ReaderStopped(f"sent what this process cannot read ({type(error).__name__})") from None

    def _ended(self) -> str:
        code = self._process.wait()
        return f"was stopped by signal {-code}" if code < 0 else f"ended unexpectedly (exit code {code})"


def _widen(pipe: IO[bytes]) -> None:
    """Room in the pipe for a few batches, so that the worker goes on while this process stages
    (Linux; elsewhere the pipe keeps its size)."""
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass


def _work(job: Job, channel_in: IO[bytes], channel_out: IO[bytes]) -> None:
    """In the worker: read and validate the file, sending batches of rows in file order."""
    import gc

    def send(value: object) -> None:
        _write(channel_out, value)

    def key() -> bytes:
        send(("key",))
        return pickle.load(channel_in)

    gc.disable()  # rows hold no cycles: as the in-process pass (run._no_cycle_collection)
    assert job.path is not None  # worth_a_worker
    with open(job.path, "rb") as stream:
        table = csvfile.table_for(
            stream,
            encoding=job.encoding,
            delimiter=job.delimiter,
            required=csvfile.PERSON_HEADERS,
            optional=csvfile.PERSON_OPTIONAL,
            source=job.label,
        )
        parser = job.parser(table.positions, key)
        parse = parser.person
        read, valid, errors = 0, [], []
        for line, cells in table.rows():
            read += 1
            row = parse(line, cells)
            if type(row) is RowError:
                errors.append(_carried(row))
            else:
                valid.append(row)
            if read == BATCH_ROWS:
                send(("rows", read, valid, errors, stream.tell()))
                read, valid, errors = 0, [], []
        send(("rows", read, valid, errors, stream.tell()))
    send(("done", Findings(parser.used_key, parser.group_sets)))


def _carried(row: RowError) -> RowError:
    """The error as it crosses the pipe: what the next step is built from (its code and details)
    instead of the exception, whose own arguments would not survive a pickle."""
    error = row.error
    if error is None:
        return row
    return dataclasses.replace(row, error=VaxresError(error.message, code=error.code, details=error.details))


def main() -> None:
    channel_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to standard error, never into the channel
    channel_in = sys.stdin.buffer
    try:
        job = pickle.load(channel_in)
        _work(job, channel_in, channel_out)
    except (BrokenPipeError, EOFError):  # the import's process stopped reading: it is ending
        return
    except charset.NotUtf8 as not_utf8:
        _last_word(channel_out, ("not_utf8", not_utf8.line))
    except InvalidInput as error:
        _last_word(channel_out, ("invalid", error.message, error.details))
    except Exception as error:  # a bug: said in one line by the import's process
        _last_word(channel_out, ("failed", type(error).__name__))


def _write(channel: IO[bytes], value: object) -> None:
    pickle.dump(value, channel, protocol=pickle.HIGHEST_PROTOCOL)
    channel.flush()


def _last_word(channel_out: IO[bytes], message: tuple) -> None:
    try:
        _write(channel_out, message)
    except BrokenPipeError:
        pass


if __name__ == "__main__":
    # By the module's own name, so that what it pickles (Findings) is read back under that name.
    from vaxres.imports import reader

    reader.main()
