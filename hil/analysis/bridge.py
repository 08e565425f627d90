"""Structure through lost samples: bridge them so runs and edges can still be found."""
from __future__ import annotations

import numpy as np


def bridged(x: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """``x`` (n,) with its ``bad`` samples replaced by straight lines between good neighbours.

    Only for finding structure (unloaded runs, edges) through a lost or clipped sample; every
    metric must still stay off the bad samples (``Signal.any_bad``)."""
    if not bad.any():
        return x
    good = np.flatnonzero(~bad & np.isfinite(x))
    if good.size == 0:
        return np.zeros_like(x)
    return np.interp(np.arange(x.shape[0]), good, x[good])
