"""torch's checkpoint container: an uncompressed zip whose records start on 64-byte boundaries.

The writer produces the bytes that torch's miniz writer produces (local headers without sizes,
an "FB" padding extra field, data descriptors, a ZIP64 end record), so `torch.load` and tools
that compute record offsets the way torch does agree with it. It only needs `write`, so it can
stream into any binary file object. The reader takes the central directory from `zipfile`,
then checks every record against the file before any byte of data is used."""
import io
import queue
import struct
import threading
import zipfile
import zlib

import numpy as np

from ._errors import EmberLoadError

ALIGNMENT = 64
ZIP64_LIMIT = 0xFFFFFFFF        # module constant so tests can force the ZIP64 layout cheaply
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_FLAGS = 0x0808                 # bit 3: sizes in a data descriptor; bit 11: UTF-8 names
_EMPTY_FLAGS = 0x0800           # an empty record: miniz writes no data descriptor
_PARALLEL_CRC = 1 << 20


class ZipWriter:
    """Streams records `<archive>/<name>` into `file`, tracking offsets itself."""

    def __init__(self, file, archive_name):
        self.file, self.prefix = file, archive_name + "/"
        self.pos, self.entries = 0, []

    def _emit(self, data):
        self.file.write(data)
        self.pos += len(data)

    def write_record(self, name, data):
        """Write one record; `data` is bytes or a C-contiguous buffer (written without a copy)."""
        view = memoryview(data).cast("B")
        full, n, offset = (self.prefix + name).encode("utf-8"), view.nbytes, self.pos
        zip64 = n >= ZIP64_LIMIT or offset >= ZIP64_LIMIT
        extra = struct.pack("<HHQQ", 1, 16, 0, 0) if zip64 else b""
        pad = -(offset + _LOCAL.size + len(full) + len(extra) + 4) % ALIGNMENT
        extra += struct.pack("<HH", 0x4246, pad) + b"Z" * pad          # "FB" + padding
        flags = _FLAGS if n else _EMPTY_FLAGS
        self._emit(_LOCAL.pack(0x04034B50, 45 if zip64 else 0, flags, 0, 0, 0, 0, 0, 0,
                               len(full), len(extra)) + full + extra)
        if n >= _PARALLEL_CRC:      # zlib and the write both release the GIL: overlap them
            crc = []
            worker = threading.Thread(target=lambda: crc.append(zlib.crc32(view)))
            worker.start()
            self._emit(view)
            worker.join()
            crc = crc[0]
        else:
            crc = zlib.crc32(view)
            self._emit(view)
        if zip64:
            self._emit(struct.pack("<IIQQ", 0x08074B50, crc, n, n))
        elif n:
            self._emit(struct.pack("<IIII", 0x08074B50, crc, n, n))
        self.entries.append((full, offset, n, crc, flags))

    def finish(self):
        """Write the central directory and the (ZIP64 and classic) end records."""
        start, parts = self.pos, []
        for full, offset, n, crc, flags in self.entries:
            big = [n, n] * (n >= ZIP64_LIMIT) + [offset] * (offset >= ZIP64_LIMIT)
            extra = struct.pack(f"<HH{len(big)}Q", 1, 8 * len(big), *big) if big else b""
            parts.append(_CENTRAL.pack(
                0x02014B50, 45 if big else 0, 45 if big else 0, flags, 0, 0, 0, crc,
                _field(n), _field(n), len(full), len(extra), 0, 0, 0, 0, _field(offset))
                + full + extra)
        self._emit(b"".join(parts))
        count, size, end64 = len(self.entries), self.pos - start, self.pos
        self._emit(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, size,
                               start))
        self._emit(struct.pack("<IIQI", 0x07064B50, 0, end64, 1))
        entries = count if count < 0xFFFF else 0xFFFF
        self._emit(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, entries, entries, _field(size),
                               _field(start), 0))


def _field(value):
    """A 4-byte size or offset, or the sentinel that sends readers to the ZIP64 record."""
    return value if value < ZIP64_LIMIT else 0xFFFFFFFF


class ZipReader:
    """Records of a torch checkpoint archive: name (without the archive folder) -> Record."""

    def __init__(self, file):
        self.file, self.memory = file, _in_memory(file)
        file.seek(0, 2)
        self.size = file.tell()
        try:
            archive = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error,
                NotImplementedError, OverflowError, UnicodeDecodeError) as e:
            raise EmberLoadError(f"not a valid checkpoint: truncated or corrupt zip archive "
                                 f"({e})") from None
        infos = archive.infolist()
        if not infos or "/" not in infos[0].filename:
            raise EmberLoadError("not a valid checkpoint: the zip archive has no archive folder")
        self.prefix = infos[0].filename.split("/", 1)[0] + "/"
        self.records = {}
        for info in infos:
            self._add(info)
        self._check_layout(getattr(archive, "start_dir", self.size))

    def _add(self, info):
        name = info.filename
        if name.startswith(self.prefix):
            key = name[len(self.prefix):]
            if key in self.records:
                raise EmberLoadError(f"not a valid checkpoint: duplicate record {name!r}")
            self.records[key] = Record(self, info)

    def _check_layout(self, directory_start):
        """Every record lies before the central directory and no two records overlap."""
        spans = sorted((r.data_offset, r.data_offset + r.disk_size, r.name)
                       for r in self.records.values())
        limit = min(directory_start, self.size)
        for (_, stop, name), nxt in zip(spans, spans[1:] + [(limit, limit, None)]):
            if stop > nxt[0]:
                raise EmberLoadError(f"not a valid checkpoint: record {name!r} overlaps another "
                                     "record or runs past its end of the file")

    def get(self, name):
        return self.records.get(name)

    def read(self, name):
        """The whole record as bytes, CRC-checked."""
        rec = self.records.get(name)
        if rec is None:
            raise EmberLoadError(f"not a valid checkpoint: record {self.prefix}{name} is missing")
        return bytes(rec.read_into(bytearray(rec.size)))


class Record:
    __slots__ = ("reader", "name", "size", "disk_size", "crc", "data_offset", "stored")

    def __init__(self, reader, info):
        self.reader, self.name, self.size, self.crc = reader, info.filename, info.file_size, \
            info.CRC
        self.disk_size = info.compress_size
        self.stored = info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 1
        self.data_offset = self._locate(info)

    def check_stored(self):
        if not self.stored:         # also keeps zip bombs out: nothing is ever inflated
            raise EmberLoadError(f"not a valid checkpoint: record {self.name!r} is compressed "
                                 "or encrypted (torch writes stored records only)")

    def _locate(self, info):
        f, head = self.reader.file, info.header_offset
        if not 0 <= head < self.reader.size:
            raise EmberLoadError(f"not a valid checkpoint: bad local header for {self.name!r}")
        f.seek(head)
        local = f.read(_LOCAL.size)
        if len(local) != _LOCAL.size or local[:4] != b"PK\x03\x04":
            raise EmberLoadError(f"not a valid checkpoint: bad local header for {self.name!r}")
        n_name, n_extra = _LOCAL.unpack(local)[9:]
        raw = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
        if f.read(n_name) != raw:
            raise EmberLoadError(f"not a valid checkpoint: local header of {self.name!r} does "
                                 "not match the central directory")
        return head + _LOCAL.size + n_name + n_extra

    def read_into(self, buf, check_crc=True):
        """Fill the writable buffer `buf` (exactly `size` bytes) from the file."""
        self.check_stored()
        view, memory = memoryview(buf).cast("B"), self.reader.memory
        parallel = check_crc and self.size >= 2 * CRC_CHUNK and _threads() > 1
        if memory is not None:
            got, crc = _copy(memory[self.data_offset:self.data_offset + self.size],
                             np.frombuffer(view, np.uint8), check_crc, parallel)
        else:
            f = self.reader.file
            f.seek(self.data_offset)
            if parallel:
                got, crc = _read_and_crc(f, view)
            else:
                got = _read_into(f, view)
                crc = zlib.crc32(view) if check_crc and got == self.size else None
        if got != self.size:
            raise EmberLoadError(f"not a valid checkpoint: record {self.name!r} is truncated")
        if check_crc and crc != self.crc:
            raise EmberLoadError(f"not a valid checkpoint: CRC-32 mismatch in {self.name!r} "
                                 "(the file is corrupt)")
        return buf


def _threads():
    from .._parallel import num_threads
    return num_threads()


# big records are read in chunks, each chunk's CRC-32 computed on a helper thread while the
# next chunk is read (zlib releases the GIL), the CRCs joined with crc32_combine: read, then
# checked, a 100 MB checkpoint spent two fifths of its load time in zlib.crc32 (torch checks
# no CRCs). A chunk is CRC_CHUNK bytes or, for records over 8 of those, the power of two that
# cuts the record in 5 to 8: few hand-overs, and at the end of a record the loading thread
# waits at most for the chunks the helpers are computing
CRC_CHUNK = 1 << 20


def _chunk(n):
    chunk = CRC_CHUNK
    while 8 * chunk < n:
        chunk *= 2
    return chunk


def _read_and_crc(f, view):
    """(bytes read into `view`, CRC-32 of `view`, None if the file ended first)."""
    n, chunk = len(view), _chunk(len(view))
    crcs = _ChunkCRCs(view, chunk)
    try:
        for i, start in enumerate(range(0, n, chunk)):
            part = view[start:start + chunk]
            got = _read_into(f, part)
            if got != len(part):
                return start + got, None
            crcs.ready(i)
    finally:
        crcs.close()
    return n, crcs.result()


def _copy(src, dst, check_crc, parallel):
    """(bytes copied, CRC-32 of them or None) for a record read from memory: NumPy copies
    without the GIL, so the helpers' CRCs of `src` (immutable bytes) overlap the whole copy
    (a BytesIO's readinto holds the GIL, and a helper done with its chunk would wait for it)."""
    n = len(src)
    if n != len(dst):
        return min(n, len(dst)), None
    if not parallel:
        dst[...] = src
        return n, zlib.crc32(src) if check_crc else None
    chunk = _chunk(n)
    crcs = _ChunkCRCs(src, chunk)
    for i in range(-(-n // chunk)):
        crcs.ready(i)
    crcs.close()
    dst[...] = src
    return n, crcs.result()


class _ChunkCRCs:
    """The CRC-32 of `data`, made of the CRCs of its `chunk`-byte pieces: pieces handed over
    with ready(i) are taken in order by up to num_threads() - 1 pool threads, and, in
    result(), by this thread; result() waits only for pieces a helper has started."""

    def __init__(self, data, chunk):
        from .._parallel import on_helper
        self.data, self.chunk, self.todo, self.crcs = data, chunk, queue.SimpleQueue(), {}
        pieces = -(-len(data) // chunk)
        self.helpers = [on_helper(self._work) for _ in range(min(_threads() - 1, pieces))]
        self.open = True

    def _work(self):
        todo, crcs, data, chunk = self.todo, self.crcs, self.data, self.chunk
        while True:
            i = todo.get()
            if i is None:
                return
            crcs[i] = zlib.crc32(data[i * chunk:(i + 1) * chunk])

    def ready(self, i):
        self.todo.put(i)

    def close(self):
        """No more pieces: each helper stops at its None (always called: a helper waits)."""
        if self.open:
            self.open = False
            for _ in self.helpers:
                self.todo.put(None)

    def result(self):
        todo, crcs, data, chunk = self.todo, self.crcs, self.data, self.chunk
        while True:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                break
            if i is None:           # (the pieces come before the Nones: all are taken)
                todo.put(None)
                break
            crcs[i] = zlib.crc32(data[i * chunk:(i + 1) * chunk])
        for helper in self.helpers:
            if not helper.cancel():
                helper.result()
        if chunk not in _SHIFTS:
            _SHIFTS[chunk] = _shift_tables(chunk)
        n, crc = len(data), 0
        for i in range(len(crcs)):
            crc = crc32_combine(crc, crcs[i], min(chunk, n - i * chunk))
        return crc


# crc32_combine as zlib 1.2.12 computes it: polynomials over GF(2) modulo the CRC-32 one,
# bit-reflected; x^(2^k) mod p tabulated for the length's bits
_POLY = 0xEDB88320


def crc32_combine(crc1, crc2, len2):
    """The CRC-32 of A + B from crc1 = CRC-32 of A, crc2 = CRC-32 of B and len2 = len(B)."""
    table = _SHIFTS.get(len2)
    if table is None:
        return _multmodp(_x2nmodp(len2, 3), crc1) ^ crc2
    return table[0][crc1 & 255] ^ table[1][crc1 >> 8 & 255] ^ table[2][crc1 >> 16 & 255] ^ \
        table[3][crc1 >> 24] ^ crc2


def _shift_tables(length):
    """Byte tables of crc -> crc * x^(8 * length) mod p (a linear map of the crc's bits)."""
    op = _x2nmodp(length, 3)
    tables = []
    for byte in range(4):
        basis = [_multmodp(op, 1 << (8 * byte + bit)) for bit in range(8)]
        table = [0] * 256
        for v in range(1, 256):
            low = v & -v
            table[v] = table[v ^ low] ^ basis[low.bit_length() - 1]
        tables.append(table)
    return tables


def _multmodp(a, b):
    """a * b modulo the CRC-32 polynomial."""
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


def _x2n_table():
    table = [1 << 30]                 # x^1
    for _ in range(31):
        table.append(_multmodp(table[-1], table[-1]))
    return table


_X2N = _x2n_table()


def _x2nmodp(n, k):
    """x^(n * 2^k) modulo the polynomial."""
    p = 1 << 31                       # x^0
    while n:
        if n & 1:
            p = _multmodp(_X2N[k & 31], p)
        n >>= 1
        k += 1
    return p


_SHIFTS = {}                    # chunk length -> _shift_tables(chunk length)


def _in_memory(file):
    """The bytes of a BytesIO, without a copy (its getvalue shares its buffer until the
    result is dropped), as a uint8 array; None for other files."""
    if type(file) is not io.BytesIO:
        return None
    return np.frombuffer(file.getvalue(), np.uint8)


def _read_into(f, view):
    """readinto until `view` is full or the file ends (raw files may return short reads)."""
    n, readinto = 0, getattr(f, "readinto", None)
    while n < len(view):
        if readinto is not None:
            got = readinto(view[n:])
        else:
            chunk = f.read(len(view) - n)
            got = len(chunk)
            view[n:n + got] = chunk
        if not got:
            break
        n += got
    return n
