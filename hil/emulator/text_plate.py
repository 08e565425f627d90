"""An emulated text-line plate on a pseudo-terminal, as described by a plate file.

The plate makes its samples like any emulated plate (source, rate, content faults), then prints
them as the plate file's lines. Line faults, seeded: ``drop`` (a line never sent), ``corrupt``
(one byte of the line replaced by a glitch byte), ``reorder`` (an intact line sent after the next
intact one, once the stream has begun). After each stop it announces what it did:
``injected lines=N dropped=D garbled=G reordered=R unseen=U``, U of the dropped and garbled lines
lying before the first or after the last line that arrived intact (no reader can tell they are
missing; a garbled one is still refused). Besides the firmware's own command lines it takes the
emulated calibration rig's ``LOAD p x y n`` (hil.protocol), as a binary emulated plate does: the
rig is the physical world, not the firmware, and prints nothing.
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
    # fast: lines are made a little ahead of the reader, not seconds of them (a reader that
    # stops would have to take in and parse all that was made before its stop was seen)
    fast_batch_ticks, fast_high_water = 128, 16 * 1024

    def __init__(self, plate: EmulatedPlate, layout: TextPlateFile, line_faults: dict[str, float],
                 seed: int = 0, **options) -> None:
        super().__init__(plate, **options)
        self.layout, self.line_faults = layout, line_faults
        self.rng = np.random.default_rng([seed, 7])
        self.held: tuple[int, bytes] | None = None  # (counter, line) being sent late (reorder)
        self._new_stream()
        self.commands = {text.strip(): name for name, text in layout.commands.items()}
        self.tare = np.zeros((layout.plates, protocol.CELLS), dtype=np.int64)  # firmware tare
        if "start" not in layout.commands:  # firmware that prints from power-up
            plate.execute("start", ())
        else:
            self.announced = True  # no stream yet: a stop has nothing to announce

    def _new_stream(self) -> None:
        self.announced: bool | None = False  # None: due once the outbox is written
        self.injected = dict(lines=0, dropped=0, garbled=0, reordered=0, unseen=0)
        self.faulty: list[int] = []  # counters of the lines dropped or garbled in this stream
        self.intact: tuple[int, int] | None = None  # lowest and highest counter sent intact

    def _command(self, line: bytes, payload: bytes | None = None) -> None:
        """The firmware's own command lines (unknown lines are ignored, as firmware does), and
        the emulated rig's load."""
        name = self.commands.get(line.decode("ascii", "replace").strip())
        plate = self.plate
        if name is None and line.strip().upper().startswith(b"LOAD ") and not plate.streaming:
            try:
                plate.execute(*protocol.parse_command(line, "serial"))
            except (protocol.ProtocolError, DeviceError):
                pass  # a load the rig cannot place: nothing changes, as on the binary plate's refusal
            return
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
            self._new_stream()
            self.t0 = time.monotonic_ns()
            self.arm_faults()
        elif name == "stop":
            self._announce()

    def _announce(self) -> None:
        """The stream has ended: the held line goes out, now in order; once every line is on the
        wire, what was done to them is announced (so the announcement also says "nothing more
        of this stream is coming": a reader may stop listening once it has it and the port is
        quiet)."""
        if self.held is not None:
            self.outbox += self.held[1]
            self._sent_intact(self.held[0])
            self.held = None
        if not self.announced:
            low, high = self.intact or (0, -1)
            self.injected["unseen"] = sum(not low <= counter <= high for counter in self.faulty)
            self.announced = None  # due once the outbox is written

    def _write(self) -> None:
        super()._write()
        if self.announced is None and not self.outbox:
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
            faults, counter = self.line_faults, int(counters[index])
            if self.rng.random() < faults.get("drop", 0.0):
                self.injected["dropped"] += 1
                self.faulty.append(counter)
                continue
            garbled = self.rng.random() < faults.get("corrupt", 0.0)
            if garbled:
                where = int(self.rng.integers(0, len(line) - 1))
                line = line[:where] + GLITCH_BYTES[int(self.rng.integers(len(GLITCH_BYTES)))
                                                   :][:1] + line[where + 1:]
                self.injected["garbled"] += 1
                self.faulty.append(counter)
            if garbled:  # refused by any reader: it overtakes nothing
                out.append(line)
                length += len(line)
            elif self.held is not None:  # this line overtakes the held one
                out += [line, self.held[1]]
                length += len(line) + len(self.held[1])
                if held_at is not None:
                    ends[held_at] = length
                self._sent_intact(self.held[0])
                self.held, held_at = None, None
                self.injected["reordered"] += 1
            elif self.intact is not None and self.rng.random() < faults.get("reorder", 0.0):
                self.held, held_at = (counter, line), index
                continue
            else:
                out.append(line)
                length += len(line)
            if not garbled:
                self._sent_intact(counter)
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

    def _sent_intact(self, counter: int) -> None:
        low, high = self.intact or (counter, counter)
        self.intact = (min(low, counter), max(high, counter))
