"""C3D files with force platforms, read through ezc3d (the optional extra ``c3d``).

ezc3d applies each analog channel's scale and offset (ANALOG:SCALE, GEN_SCALE, OFFSET) and each
platform's type and calibration matrix (FORCE_PLATFORM:TYPE, CHANNEL, CAL_MATRIX); we take
the vertical force of every platform (its ``force[2]``, load positive as ezc3d reports it),
numbered Fz1, Fz2 … in FORCE_PLATFORM order, at ANALOG:RATE. 120 s of two plates at 1 kHz
(5.9 MB) reads in 2–3 s on the shared 2-core host, most of it ezc3d computing the platforms.
"""
from __future__ import annotations

import os
import struct
import tempfile

import numpy as np

from hil.analysis.readers.table import Table
from hil.analysis.signal import AnalysisInputError

EXTRA = "pip install 'forcebench[c3d]'"
_PARAMETER_MARK = 0x50  # byte 2 of every C3D file (the parameter section's key)
_BIG_ENDIAN = 86  # processor type MIPS; 84 (Intel) and 85 (DEC) store integers little-endian
_MAX_HEADER_FRAME = 65535  # the header's 16-bit frame numbers: longer files keep theirs elsewhere


def is_c3d(data: bytes) -> bool:
    """A C3D header: byte 2 is 0x50 and the parameter section it points at names a processor."""
    if len(data) < 512 or data[1] != _PARAMETER_MARK or data[0] < 1:
        return False
    start = (data[0] - 1) * 512
    return len(data) > start + 3 and data[start + 3] in (84, 85, 86)  # Intel, DEC, MIPS


def read(data: bytes, name: str) -> Table:
    try:
        import ezc3d  # heavy and optional: imported only when a C3D file is read
    except ImportError:
        raise AnalysisInputError(f"{name}: reading C3D needs ezc3d, the 'c3d' extra: {EXTRA}") from None
    # ezc3d reads from a path only: standard input and gzip arrive as bytes
    handle, path = tempfile.mkstemp(suffix=".c3d")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        try:
            c3d = ezc3d.c3d(path)
            # ezc3d's own platform wrapper copies force, moment, CoP and Tz frame by frame in
            # Python (7 s for 120 s of two plates); only the force is needed, taken straight
            platforms = ezc3d.ezc3d.ForcePlatforms(c3d.c3d_swig).forcePlatforms()
        except (RuntimeError, ValueError, IndexError) as error:
            raise AnalysisInputError(f"{name}: not a readable C3D file ({error})") from None
    finally:
        os.unlink(path)
    frames = c3d["header"]["points"]
    _check_complete(data, int(frames["last_frame"]) - int(frames["first_frame"]) + 1, name)
    if not platforms:
        raise AnalysisInputError(f"{name}: C3D file without force platforms (FORCE_PLATFORM:USED is 0); "
                                 "export the plates' analog channels to CSV and use --force")
    rate = float(c3d["parameters"]["ANALOG"]["RATE"]["value"][0])
    names = tuple(f"Fz{number}" for number in range(1, len(platforms) + 1))
    values = np.column_stack([np.fromiter((f.z() for f in platform.forces()), float, platform.nbFrames())
                              for platform in platforms])
    units = tuple(platform.forceUnit() for platform in platforms)
    types = sorted({int(t) for t in c3d["parameters"]["FORCE_PLATFORM"]["TYPE"]["value"]})
    return Table(f"C3D, {len(platforms)} force platform(s) (type {'/'.join(map(str, types))})", names,
                 values, units=units, rate_hz=rate, plates=names)


def _check_complete(data: bytes, frames_read: int, name: str) -> None:
    """ezc3d reads a cut-off file without a word; the header says how many frames there were."""
    processor = data[(data[0] - 1) * 512 + 3]
    first, last = struct.unpack((">" if processor == _BIG_ENDIAN else "<") + "HH", data[6:10])
    if last < _MAX_HEADER_FRAME and frames_read < last - first + 1:
        raise AnalysisInputError(f"{name}: C3D file is cut short: its header says {last - first + 1} "
                                 f"frames, the data hold {frames_read}")
