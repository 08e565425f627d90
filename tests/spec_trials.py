"""The simulated trials the analysis tests hold to the spec: seed n picks the rate and plate count."""
from hil.analysis import analyse
from hil.spec import SPEC_RATES_HZ


def simulated_and_analysed(test: str, seed: int):
    """Seed ``seed``'s ``test`` trial with typical noise, and forcebench's result, which must not refuse."""
    from sim.generate import simulate  # scipy loads only for the tests that simulate

    trial = simulate(test, rate_hz=SPEC_RATES_HZ[seed % 3], plates=1 + seed % 2, noise="typical",
                     seed=seed)
    result = analyse(trial.force, trial.rate_hz, test)
    assert not result.refused, result.quality
    return trial, result
