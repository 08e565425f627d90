"""Read force recordings as labs export them, for ``forcebench analyse`` and for scripts.

    from hil.analysis.readers import load, Selection
    recording = load("trial.txt.gz")                       # format found from the content
    recording = load("cmj.csv", selection=Selection(force="FZ1+FZ2"))
    analyse(recording.force, recording.rate_hz, "cmj")

Formats (``FORMATS``; found from the content, or forced with ``fmt=``/``--format``):
``text`` (one value per line; delimited with a header; headerless six channels per plate),
``kistler`` (BioWare text export), ``visual3d`` (Visual3D text export), ``vicon`` (Nexus CSV,
Devices block), ``opensim`` (.mot/.sto), ``c3d`` (through ezc3d, the optional ``c3d`` extra).
Any of them may be gzip-compressed. One module per format family; each returns a
:class:`~hil.analysis.readers.table.Table` and :func:`~hil.analysis.readers.table.choose`
picks the force, the plates and the rate the same way for all.
"""
from __future__ import annotations

from collections.abc import Callable

from hil.analysis.readers import c3d, delimited, kistler, opensim, vicon, visual3d
from hil.analysis.readers.source import read_bytes
from hil.analysis.readers.table import Recording, Selection, Table, choose
from hil.analysis.signal import AnalysisInputError

__all__ = ["FORMATS", "Recording", "Selection", "load", "parse", "sniff"]

_TEXT_READERS: dict[str, Callable[[bytes, str], Table]] = {
    "text": delimited.read, "kistler": kistler.read, "visual3d": visual3d.read,
    "vicon": vicon.read, "opensim": opensim.read,
}
FORMATS = ("auto", *_TEXT_READERS, "c3d")
_SNIFF_LINES = 40  # every text format shows itself within this many lines


def load(path: str, rate_hz: float | None = None, fmt: str = "auto",
         selection: Selection = Selection()) -> Recording:
    """Read ``path`` (``-`` for standard input); ``rate_hz`` is needed when the file has no rate."""
    name = "standard input" if path == "-" else path
    return parse(read_bytes(path), rate_hz, fmt, selection, name)


def parse(data: bytes, rate_hz: float | None = None, fmt: str = "auto",
          selection: Selection = Selection(), name: str = "input") -> Recording:
    """The recording in ``data`` (gzip already undone), in format ``fmt`` or the one it shows."""
    if fmt not in FORMATS:
        raise AnalysisInputError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    chosen = sniff(data) if fmt == "auto" else fmt
    if chosen == "c3d":
        table = c3d.read(data, name)
    else:
        text = data.removeprefix(b"\xef\xbb\xbf")  # spreadsheet exports may open with a BOM
        if not text.strip():
            raise AnalysisInputError(f"{name}: empty input, no samples")
        table = _TEXT_READERS[chosen](text, name)
    return choose(table, selection, rate_hz, name)


def sniff(data: bytes) -> str:
    """The format ``data`` shows in its first bytes or lines; plain text when nothing else."""
    if c3d.is_c3d(data):
        return "c3d"
    head = data[:65536].decode("utf-8", "replace").removeprefix("\ufeff").split("\n")[:_SNIFF_LINES]
    head = [line.rstrip("\r") for line in head]
    if head and head[0].startswith(kistler.SIGNATURE.decode()):
        return "kistler"
    if vicon.is_vicon(head):
        return "vicon"
    if opensim.is_opensim(head):
        return "opensim"
    if visual3d.is_visual3d(head):
        return "visual3d"
    return "text"
