"""Training blocks through the plate: test days measured by the simulated sensor or a plate URL
(the bench's stages), the clinician's decisions on true and measured values, test–retest and
detection power, and the block's report (block.json, PNGs)."""
from hil.block.run import BlockSettings, run

__all__ = ["BlockSettings", "run"]
