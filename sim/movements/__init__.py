"""One module per test; each ``simulate(athlete, rate_hz, plates, rng, **options) -> Trial``."""
TESTS = ("cmj", "sj", "dj", "hops", "iso", "run")
