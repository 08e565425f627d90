"""Conditions on test results, and the clinician's weekly rule built from them (TOML).

A condition names a metric of a test-day test, ``"<test>.<metric>"`` (metric names as in
METRICS.md, see sim.testday.TESTS), or of the athlete's own reports, ``"report.<name>"``
(sim.testday.REPORTS), and compares one value of it with exactly one bound::

    { metric = "iso_calf.net_peak_force_n", of = "lsi_pct", at_least = 90 }
    { metric = "report.pain_during", at_most = 3 }
    { metric = "cmj.jump_height_m", of = "change_pct", below = -10 }

``of`` picks the value: for a test done per leg, ``lsi_pct`` (limb symmetry index,
100·weaker/stronger), ``asym_pct`` (100·(L − R)/max(L, R)), ``min``, ``max``, ``left`` or
``right`` (one is required); for a bilateral test or a report, ``value`` (the default) or
``change_pct`` (100·(latest − first session)/first session). Values are the latest session's.

The rule (the default is scenarios/blocks/rules/clinician.toml, documented in docs/blocks.md)::

    [back_off]           # any of these holds → back off
    any = [ ...conditions... ]
    [progress]           # all of these hold → progress
    all = [ ...conditions... ]
                         # otherwise → hold

A value that is missing (test not done yet, or the analysis left the metric out) satisfies no
condition: it cannot trigger a back-off, and it blocks progress (no progress without evidence).
Everything is vectorised: a value is an array over athletes, NaN where missing.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from sim.scenario import ScenarioError
from sim.scenario import Reader

DECISIONS = ("back_off", "hold", "progress")
BACK_OFF, HOLD, PROGRESS = range(3)
LEG_AGGREGATES = ("lsi_pct", "asym_pct", "min", "max", "left", "right")
PLAIN_AGGREGATES = ("value", "change_pct")
BOUNDS = {"at_least": np.greater_equal, "at_most": np.less_equal,
          "above": np.greater, "below": np.less}
DEFAULT_RULE = Path(__file__).resolve().parent.parent / "scenarios" / "blocks" / "rules" / "clinician.toml"


@dataclass(frozen=True)
class Condition:
    test: str
    metric: str
    of: str
    bound: str
    limit: float

    @property
    def label(self) -> str:
        of = "" if self.of == "value" else f" ({self.of})"
        return f"{self.test}.{self.metric}{of} {self.bound.replace('_', ' ')} {self.limit:g}"

    def holds(self, value: np.ndarray) -> np.ndarray:
        """True where the value is known and within the bound."""
        value = np.asarray(value, dtype=float)
        with np.errstate(invalid="ignore"):
            return np.isfinite(value) & BOUNDS[self.bound](value, self.limit)


@dataclass(frozen=True)
class Rule:
    """The clinician: back off if any back-off condition holds, else progress if all progress
    conditions hold, else hold."""

    back_off: tuple[Condition, ...]
    progress: tuple[Condition, ...]
    source: str = "default"

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return self.back_off + self.progress


def value(condition: Condition, latest: Mapping[tuple[str, str | None, str], np.ndarray],
          first: Mapping[tuple[str, str | None, str], np.ndarray], athletes: int) -> np.ndarray:
    """The condition's value per athlete from the latest (and first) results, keyed by
    (test, leg or None, metric); NaN where missing."""
    missing = np.full(athletes, np.nan)

    def get(source, leg):
        return np.asarray(source.get((condition.test, leg, condition.metric), missing), dtype=float)

    with np.errstate(invalid="ignore", divide="ignore"):
        if condition.of in LEG_AGGREGATES:
            left, right = get(latest, "left"), get(latest, "right")
            return {"lsi_pct": lambda: 100.0 * np.minimum(left, right) / np.maximum(left, right),
                    "asym_pct": lambda: 100.0 * (left - right) / np.maximum(left, right),
                    "min": lambda: np.minimum(left, right), "max": lambda: np.maximum(left, right),
                    "left": lambda: left, "right": lambda: right}[condition.of]()
        now = get(latest, None)
        if condition.of == "change_pct":
            base = get(first, None)
            return 100.0 * (now - base) / base
        return now


def decide(rule: Rule, latest, first, athletes: int) -> tuple[np.ndarray, dict[Condition, np.ndarray]]:
    """Decision codes (BACK_OFF, HOLD, PROGRESS) per athlete, and each condition's truth value."""
    held = {c: c.holds(value(c, latest, first, athletes)) for c in rule.conditions}
    back = np.zeros(athletes, dtype=bool)
    for c in rule.back_off:
        back |= held[c]
    ahead = np.ones(athletes, dtype=bool)
    for c in rule.progress:
        ahead &= held[c]
    return np.where(back, BACK_OFF, np.where(ahead, PROGRESS, HOLD)), held


def parse_conditions(reader: Reader, items: Any, key: str, catalogue: Mapping[str, tuple[tuple[str, ...], bool]]
                     ) -> tuple[Condition, ...]:
    """Conditions from a TOML array of inline tables; ``catalogue`` maps each test (and
    "report") to (its metric names, whether it is done per leg)."""
    if not isinstance(items, list):
        raise reader.fail(key, "must be an array of conditions ({ metric = ..., at_most = ... })")
    out = []
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        reader.table(item, where, ("metric", "of", *BOUNDS))
        name = reader.text(item.get("metric"), f"{where}.metric")
        test, _, metric = name.partition(".")
        if test not in catalogue:
            raise reader.fail(f"{where}.metric", f"unknown test {test!r} in {name!r} "
                                                 f"(tests: {', '.join(catalogue)})")
        names, per_leg = catalogue[test]
        if metric not in names:
            raise reader.fail(f"{where}.metric", f"{test} has no metric {metric!r} "
                                                 f"(it has: {', '.join(names)})")
        choices = LEG_AGGREGATES if per_leg else PLAIN_AGGREGATES
        if per_leg and "of" not in item:
            raise reader.fail(f"{where}.of", f"{test} is done per leg: say which value "
                                             f"({', '.join(choices)})")
        of = reader.text(item.get("of", "value"), f"{where}.of", choices)
        bounds = [b for b in BOUNDS if b in item]
        if len(bounds) != 1:
            raise reader.fail(where, f"needs exactly one of {', '.join(BOUNDS)}")
        limit = reader.number(item[bounds[0]], f"{where}.{bounds[0]}", -1e9, 1e9)
        out.append(Condition(test, metric, of, bounds[0], limit))
    return tuple(out)


def read_toml(path: Path, what: str) -> tuple[dict[str, Any], Reader]:
    """A TOML file's tables and a Reader naming it (ScenarioError: one line, file and problem)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), Reader(str(path))
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"{path}: cannot read {what}: {getattr(error, 'strerror', None) or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: not valid TOML: {error}") from None


def load_rule(path: str | Path | None, catalogue) -> Rule:
    """The clinician's rule from a TOML file (None: the documented default)."""
    path = DEFAULT_RULE if path is None else Path(path)
    data, reader = read_toml(path, "rule")
    reader.table(data, "", ("description", "back_off", "progress"))
    back = reader.table(data.get("back_off", {}), "back_off", ("any",))
    ahead = reader.table(data.get("progress", {}), "progress", ("all",))
    rule = Rule(back_off=parse_conditions(reader, back.get("any", []), "back_off.any", catalogue),
                progress=parse_conditions(reader, ahead.get("all", []), "progress.all", catalogue),
                source=str(path))
    if not rule.progress:
        raise reader.fail("progress.all", "needs at least one condition (else every week progresses)")
    return rule
