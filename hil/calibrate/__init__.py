"""Calibrate a plate: rig (known loads, a reference) → fit → verify → acceptance → certificate.

    plan.py        the load sequence over a grid of positions, up and down
    rig.py         placing loads (emulated rig or operator prompts) and reading plate + reference
    session.py     the steps done so far, on disk: a run resumes after an interruption
    fit.py         least squares: per-cell gain, offset, crosstalk, drift, non-linear term
    verify.py      force error, non-linearity, hysteresis, repeatability, crosstalk, drift, COP
    acceptance.py  the spec (TOML) the verdict is judged by
    certificate.py calibration.json, report.json, report.xml, plots; reading a calibration file
    run.py         `forcebench calibrate`;  check.py  `forcebench check`
"""
