"""The runner-loading simulator: synthetic athletes, movements and plates with exact truth.

Pure and deterministic from a seeded ``numpy.random.Generator``; never imports ``hil``.
"""
from sim.trial import SimulationError, Trial, Truth

__all__ = ["SimulationError", "Trial", "Truth"]
