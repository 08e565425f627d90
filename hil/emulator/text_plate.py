"""An emulated text-line plate on a pseudo-terminal, as described by a plate file.

The plate makes its samples like any emulated plate (source, rate, content faults), then prints
them as the plate file's lines. Line faults, seeded: ``drop`` (a line never sent), ``corrupt``
(one byte of the line replaced by a glitch byte), ``reorder`` (a line sent after the next one).
After each stop it announces what it did: ``injected lines=N dropped=D garbled=G reordered=R``.
"""
from __future__ import annotations

import time

import numpy as np

from .. import protocol
from ..text_format import TextPlateFile
from .device import Chunk, DeviceError, EmulatedPlate
from .faults import Fault, FaultError
from .serial_plate import SerialFrontEnd

LINE_FAULTS = ("drop", "corrupt", "reorder")
CONTENT_FAULTS = ("dead_cell", "saturate", "drift", "stall")
GLITCH_BYTES = b"#~?@!"


def split_faults(faults: tuple[Fault, ...]) -> tuple[tuple[Fault, ...], dict[str, float]]:
    """(faults the plate model applies, line fault probabilities)."""
    bad = [f.kind for f in faults if f.kind not in LINE_FAULTS + CONTENT_FAULTS]
    if bad:
        raise FaultError(f"a text plate cannot inject {bad[0]!r} (it can: "
                         f"{', '.join(LINE_FAULTS + CONTENT_FAULTS)})")
    return (tuple(f for f in faults if f.kind in CONTENT_FAULTS),
            {f.kind: f["rate"] for f in faults if f.kind in LINE_FAULTS})


def text_plate(plate: EmulatedPlate, layout: TextPlateFile) -> EmulatedPlate:
    """Give an emulated plate the plate file's counts: newtons = (counts - offset) * scale."""
    if plate.plates != layout.plates:
        raise FaultError(f"the source has {plate.plates} plate(s), the plate file {layout.plates}")
    plate.true_scale = layout.scale.copy()
    plate.zero_counts = np.rint(layout.offset).astype(np.int64)
    plate.reset()
    plate.rate_hz = layout.rate_hz
    return plate


class TextFrontEnd(SerialFrontEnd):
    def __init__(self, plate: EmulatedPlate, layout: TextPlateFile, line_faults: dict[str, float],
                 seed: int = 0, **options) -> None:
        super().__init__(plate, **options)
        self.layout, self.line_faults = layout, line_faults
        self.rng = np.random.default_rng([seed, 7])
        self.held: bytes | None = None  # a line being sent late (reorder)
        self.announced = False
        self.injected = dict(lines=0, dropped=0, garbled=0, reordered=0)
        self.commands = {text.strip(): name for name, text in layout.commands.items()}
        self.tare = np.zeros((layout.plates, protocol.CELLS), dtype=np.int64)  # firmware tare
        if "start" not in layout.commands:  # firmware that prints from power-up
            plate.execute("start", ())

    def _command(self, line: bytes, payload: bytes | None = None) -> None:
        """The firmware's own command lines; unknown lines are ignored, as firmware does."""
        name = self.commands.get(line.decode("ascii", "replace").strip())
        plate = self.plate
        if name is None or (plate.streaming and name != "stop"):
            return
        if name == "identify":
            self.outbox += f"DIY text plate, {self.layout.plates}x4 cells, " \
                           f"{self.layout.rate_hz:g} Hz (forcebench emulator)\n".encode()
            return
        try:
            plate.execute(name, ())
        except DeviceError:
            return
        if name == "tare":  # the firmware prints counts less its zero from now on
            self.tare = plate.zero_counts.astype(np.int64)
        elif name == "start":
            self.injected = dict(lines=0, dropped=0, garbled=0, reordered=0)
            self.announced = False
            self.t0 = time.monotonic_ns()
            self.stalls = plate.fault_windows("stall")
        elif name == "stop":
            self._announce()

    def _announce(self) -> None:
        if self.held is not None:  # the stream ends: the held line goes out, now in order
            self.outbox += self.held
            self.held = None
        if self.announced or not self.injected["lines"]:
            return
        self.announced = True
        print("injected " + " ".join(f"{k}={v}" for k, v in self.injected.items()),
              file=self.announce, flush=True)

    def _encode(self, chunk: Chunk) -> tuple[bytes, np.ndarray]:
        frames = protocol.decode_all(chunk.data).frames
        nothing = np.zeros(chunk.tick_counters.size, dtype=np.int64)
        if frames.size == 0:
            return b"", nothing
        plates = self.layout.plates
        counts = frames["counts"].reshape(-1, plates, protocol.CELLS) - self.tare
        counters = frames["counter"][::plates].astype(np.int64)
        out, ends, length, held_at = [], np.zeros(counters.size, dtype=np.int64), 0, None
        for index, line in enumerate(self.layout.format_lines(counters, counts)):
            ends[index] = length  # a dropped line: its tick ends where the last one did
            self.injected["lines"] += 1
            faults = self.line_faults
            if self.rng.random() < faults.get("drop", 0.0):
                self.injected["dropped"] += 1
                continue
            if self.rng.random() < faults.get("corrupt", 0.0):
                where = int(self.rng.integers(0, len(line) - 1))
                line = line[:where] + GLITCH_BYTES[int(self.rng.integers(len(GLITCH_BYTES)))
                                                   :][:1] + line[where + 1:]
                self.injected["garbled"] += 1
            if self.held is not None:
                out += [line, self.held]
                length += len(line) + len(self.held)
                if held_at is not None:
                    ends[held_at] = length
                self.held, held_at = None, None
                self.injected["reordered"] += 1
            elif self.rng.random() < faults.get("reorder", 0.0):
                self.held, held_at = line, index
            else:
                out.append(line)
                length += len(line)
            ends[index] = max(ends[index], length)
        data = b"".join(out)
        if held_at is not None:  # goes out with a later chunk: logged with this one's end
            ends[held_at] = length
        if self.plate.finished:  # a single pass has ended
            self.outbox += data
            self._announce()
            return b"", nothing
        # per tick of the chunk (a tick whose frames the plate dropped has no line), in order
        at = np.searchsorted(counters, chunk.tick_counters.astype(np.int64), side="right") - 1
        return data, np.maximum.accumulate(np.where(at >= 0, ends[np.maximum(at, 0)], 0))
