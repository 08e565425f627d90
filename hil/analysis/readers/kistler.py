"""Kistler BioWare text exports: a 'BioWare Version … Export' header, then columns.

The header states the rate (``Rate (Hz):``) and which device (plate) each column comes from
(``Device:``); the row after the column names gives the units. With several plates the channel
names repeat (Fx Fy Fz Fx Fy Fz), so each is numbered by its plate: Fz1, Fz2.
"""
from __future__ import annotations

from hil.analysis.readers import numbers
from hil.analysis.readers.table import Table, unit_of
from hil.analysis.signal import AnalysisInputError

SIGNATURE = b"BioWare"
_HEADER_LINES = 60  # the names row comes within this many lines (17 in BioWare 5.x)


def read(text: bytes, name: str) -> Table:
    lines = text.split(b"\n", _HEADER_LINES)
    head = [line.decode("utf-8", "replace").rstrip("\r") for line in lines[:_HEADER_LINES]]
    start = next((i for i, line in enumerate(head) if line.lower().startswith("abs time")), None)
    if start is None or start + 2 >= len(lines):
        raise AnalysisInputError(f"{name}: BioWare export without an 'abs time' column row; "
                                 "export with the time column, or convert to CSV with a header")
    fields = {line.split("\t")[0].strip().rstrip(":"): line.split("\t")[1:] for line in head[:start]}
    rate = _number(fields.get("Rate (Hz)", [""])[0])
    devices = [d.strip() for d in fields.get("Device", [])]
    channels = [c.strip() for c in head[start].split("\t")]
    units = [u.strip() for u in head[start + 1].split("\t")]
    units += [""] * (len(channels) - len(units))
    order = list(dict.fromkeys(devices))
    if len(order) > 1 and len(devices) == len(channels) - 1:
        names = [channels[0]] + [f"{c}{order.index(d) + 1}" for c, d in zip(channels[1:], devices)]
    else:
        names = channels
    units[0] = units[0] or unit_of(channels[0])
    body = b"\n".join(lines[start + 2:])  # the split left everything after the header whole
    values = numbers.table(body.rstrip(), len(names), "\t", start + 3, tuple(names), name)
    stated = _number(fields.get("Samples (#)", [""])[0])
    if stated is not None and stated != values.shape[0]:
        raise AnalysisInputError(f"{name}: the header says {stated:g} samples, the file holds "
                                 f"{values.shape[0]}: cut short or edited")
    plates = tuple(n for n in names if n.lower().startswith("fz"))
    return Table(f"Kistler BioWare export, {max(len(order), 1)} plate(s)", tuple(names), values,
                 units=tuple(units), rate_hz=rate, time=names[0], plates=plates,
                 hint="BioWare export without an Fz column")


def _number(field: str) -> float | None:
    return float(field) if numbers.is_number(field.strip()) else None
