"""Countermovement jump: see hil.analysis.jump for the method."""
from __future__ import annotations

from hil.analysis.jump import analyse_jump
from hil.analysis.result import Partial
from hil.analysis.signal import Options, Signal


def analyse(signal: Signal, options: Options) -> Partial:
    return analyse_jump(signal, countermovement=True)
