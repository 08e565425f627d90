"""Faults an emulated plate can inject, from the command line or from a scenario file.

Syntax: ``KIND`` or ``KIND:VALUE`` (the kind's main parameter) or ``KIND:key=value,key=value``;
a scenario may give the same as a dict ``{"kind": KIND, key: value, ...}``. Times are seconds of
stream time (from ``start``). Random faults are drawn from the emulator's seed, per sample
counter, so a run is repeatable.

    drop:RATE                  each frame lost with probability RATE (plate=P: only that plate)
    corrupt:RATE               each frame gets one flipped byte with probability RATE
    slip:RATE                  each frame loses or gains one byte with probability RATE
    stall:at=T,for=D           the transport stops for D s at T, then delivers the backlog
    disconnect:at=T,for=D      the port goes away for D s at T (frames meanwhile are lost),
                               then returns (the serial emulator prints its new path)
    dead_cell:plate=P,cell=C   that cell reads zero load from at=T (default 0) on
    stick:plate=P,cell=C       that cell holds the load it read at at=T (default 0) from then on
    saturate:LIMIT             cells past LIMIT newtons read ADC full scale (plate=P, cell=C)
    drift:RATE                 cells drift by RATE N/s (plate=P to restrict)
    skew:ppm=PPM               the right plate's clock runs PPM parts per million fast
    reorder:RATE               text plates: a line is sent after the next one with probability RATE
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping


class FaultError(ValueError):
    """A fault specification that cannot be understood."""


# kind → (main parameter, {parameter: default}); None as default means required.
KINDS: dict[str, tuple[str, dict[str, float | None]]] = {
    "drop": ("rate", {"rate": None, "plate": -1}),
    "corrupt": ("rate", {"rate": None}),
    "slip": ("rate", {"rate": None}),
    "stall": ("at", {"at": None, "for": 0.3}),
    "disconnect": ("at", {"at": None, "for": 0.5}),
    "dead_cell": ("cell", {"plate": 0, "cell": None, "at": 0.0}),
    "stick": ("cell", {"plate": 0, "cell": None, "at": 0.0}),
    "saturate": ("limit", {"limit": None, "plate": -1, "cell": -1}),
    "drift": ("rate", {"rate": None, "plate": -1}),
    "skew": ("ppm", {"ppm": None}),
    "reorder": ("rate", {"rate": None}),
}
PROBABILITIES = ("drop", "corrupt", "slip", "reorder")
# (low, high) of every parameter: anything outside is a typo, not a fault to emulate
LIMITS: dict[str, tuple[float, float]] = {
    "at": (0.0, 86_400.0), "for": (0.0, 600.0),
    "limit": (0.0, 1e6), "ppm": (-1e5, 1e5), "drift.rate": (-1e4, 1e4), "rate": (0.0, 1.0)}


@dataclass(frozen=True)
class Fault:
    kind: str
    params: Mapping[str, float] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        return self.params[name]

    def to_spec(self) -> str:
        """The command-line form, e.g. ``stall:at=2.0,for=0.3`` (exact: floats as repr)."""
        return self.kind + ":" + ",".join(f"{k}={v!r}" for k, v in self.params.items())


def fault_from_dict(items: Mapping[str, Any]) -> Fault:
    items = dict(items)
    kind = items.pop("kind", None)
    if kind not in KINDS:
        raise FaultError(f"unknown fault kind {kind!r} (known: {', '.join(KINDS)})")
    _, defaults = KINDS[kind]
    unknown = set(items) - set(defaults)
    if unknown:
        raise FaultError(f"fault {kind}: unknown parameter(s) {', '.join(sorted(unknown))}")
    params = {}
    for name, default in defaults.items():
        value = items.get(name, default)
        if value is None:
            raise FaultError(f"fault {kind}: missing {name}")
        try:
            params[name] = float(value)
        except (TypeError, ValueError):
            raise FaultError(f"fault {kind}: {name} must be a number, got {value!r}") from None
    if kind in PROBABILITIES and not 0 <= params["rate"] <= 1:
        raise FaultError(f"fault {kind}: rate must be a probability in [0, 1]")
    if min(params.get("at", 0), params.get("for", 0)) < 0:
        raise FaultError(f"fault {kind}: times must not be negative")
    for name, value in params.items():
        low, high = LIMITS.get(f"{kind}.{name}", LIMITS.get(name, (-float("inf"), float("inf"))))
        if not low <= value <= high:
            raise FaultError(f"fault {kind}: {name} must be {low:g}–{high:g}, got {value:g}")
    return Fault(kind, params)


def parse_fault(text: str) -> Fault:
    kind, _, rest = text.strip().partition(":")
    if kind not in KINDS:
        raise FaultError(f"unknown fault kind {kind!r} in {text!r} (known: {', '.join(KINDS)})")
    items: dict[str, Any] = {"kind": kind}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        name, eq, value = part.partition("=")
        if not eq:
            name, value = KINDS[kind][0], part
        items[name.strip()] = value.strip()
    return fault_from_dict(items)


def parse_faults(specs: Iterable[str | Mapping[str, Any] | Fault]) -> tuple[Fault, ...]:
    """Faults from strings, dicts or Fault objects (a scenario may mix them)."""
    out = []
    for spec in specs:
        if isinstance(spec, Fault):
            out.append(spec)
        elif isinstance(spec, str):
            out.append(parse_fault(spec))
        elif isinstance(spec, Mapping):
            out.append(fault_from_dict(spec))
        else:
            raise FaultError(f"a fault is a string or a table, got {spec!r}")
    return tuple(out)
