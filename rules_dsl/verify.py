"""The logic checked before the data: what the rules say about every possible case, not only the cases collected.

``verify(ruleset)`` returns findings, each with a kind, the rules involved (ids), a plain message naming the rules
by their names with values in each feature's unit, and where one exists a witness case (feature -> value):

- ``conflict``: two rules with different conclusions can fire on the same case;
- ``redundant``: a rule fires only where another rule with the same conclusion fires;
- ``unreachable``: under first match, whenever the rule fires a rule tried before it has already answered;
- ``never`` / ``always``: no case within the vocabulary's ranges and allowed values makes the condition true /
  (with its features known) false;
- ``gap``: a region of the declared ranges and allowed values where no rule concludes;
- ``not analysed``: a rule whose ``or`` / ``at least N of`` expand into too many combinations, or a list cut short.

How: each checked condition (logic.py) is expanded into "boxes", conjunctions of one-feature value sets (number
intervals with open or closed ends, sets of allowed values, yes/no, text constraints; each may include "missing").
Kleene logic needs four of them per node, the rails of logic.py and their complements: T (surely true), F (surely
false), NT (not true: false or unknown) and NF. A rule fires on its T boxes and stays silent on its NT boxes, so
"A fires only where B fires" is "no T box of A meets an NT box of B", exactly. Values live in the vocabulary's
domain: numbers in their declared range (units are already converted by the checker), categories among their
allowed values, plus missing. Numbers are floats, so an open interval with no float inside is empty.

Every witness is run through the rules (the compiled per-row backend) before it is reported; a finding whose
witness does not hold is dropped (tests/rules_dsl/test_verify.py proves on generated rule sets that none is).
"""
from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from . import logic as L
from .backends.row import compile_rules
from .backends.values import category_key
from .formatter import format_number, quote
from .policy import Voter, decide, order_voters

MAX_CASES = 256           # boxes per rail of one rule: beyond it the rule is "not analysed"
MAX_GAP_REGIONS = 4_000   # pieces while carving the domain into the region no rule covers
MAX_LISTED = 100          # findings of one kind listed; the rest are counted in one "not analysed" finding
SAMPLES = 4             # cases tried per box before proving that a rule can never decide under first match
MAX_WORK = 400         # pieces made while proving it, per rule (1,000 bench rules: see docs/benchmarks.md)
MAX_BLOCKERS = 25        # earlier rules overlapping a rule, beyond which that proof is not attempted
MAX_GAPS = 10             # gap regions listed
KINDS = ("conflict", "redundant", "unreachable", "never", "always", "gap", "not analysed")
_INF = math.inf


@dataclass(frozen=True)
class Finding:
    kind: str                       # one of KINDS
    rules: tuple[str, ...]          # ids of the rules involved, the one the finding is about first
    message: str                    # plain words: rule names, values in the feature's unit
    witness: dict | None = None     # feature name -> value (None: missing) that shows it, checked by the rules
    region: tuple[str, ...] = ()    # for a gap: the conditions describing the region, one per feature

    def to_dict(self) -> dict:
        return {"kind": self.kind, "rules": list(self.rules), "message": self.message, "witness": self.witness,
                "region": list(self.region)}


class _TooMany(Exception):
    pass


# ---- one feature's sets of values ------------------------------------------------------------------------------
# Every set lies inside its feature's universe (missing + the declared range / allowed values), so a complement is
# taken within that universe.

@dataclass(frozen=True)
class Num:
    missing: bool
    spans: tuple[tuple[float, bool, float, bool], ...]  # (low, low closed, high, high closed), sorted, disjoint

    def empty(self) -> bool:
        return not self.missing and not self.spans


def _span(lo: float, lc: bool, hi: float, hc: bool) -> tuple | None:
    lc, hc = lc and lo != -_INF, hc and hi != _INF
    if lo > hi or lo == hi and not (lc and hc):
        return None
    if lo < hi and not lc and not hc and math.nextafter(lo, _INF) >= hi:
        return None  # no float strictly between two neighbouring floats
    return (lo, lc, hi, hc)


def _num_and(a: Num, b: Num) -> Num:
    spans = []
    for lo1, lc1, hi1, hc1 in a.spans:
        for lo2, lc2, hi2, hc2 in b.spans:
            lo, lc = (lo1, lc1) if (lo1, not lc1) > (lo2, not lc2) else (lo2, lc2)
            hi, hc = (hi1, hc1) if (hi1, hc1) < (hi2, hc2) else (hi2, hc2)
            s = _span(lo, lc, hi, hc)
            if s:
                spans.append(s)
    return Num(a.missing and b.missing, tuple(sorted(spans)))


def _num_complement(a: Num) -> Num:
    """Within all numbers and missing (the caller intersects with the universe)."""
    spans, lo, lc = [], -_INF, False
    for s_lo, s_lc, s_hi, s_hc in a.spans:
        s = _span(lo, lc, s_lo, not s_lc)
        if s:
            spans.append(s)
        lo, lc = s_hi, not s_hc
    s = _span(lo, lc, _INF, False)
    if s:
        spans.append(s)
    return Num(not a.missing, tuple(spans))


@dataclass(frozen=True)
class Fin:
    """A category (keys of allowed values) or yes/no (True/False)."""

    missing: bool
    values: frozenset

    def empty(self) -> bool:
        return not self.missing and not self.values


@dataclass(frozen=True)
class Txt:
    """Free text: missing, and known strings that are among ``pos`` (None: any), not among ``neg``, contain every
    needle of ``must`` and none of ``mustnot`` (needles in lower case; 'contains' ignores case)."""

    missing: bool
    pos: frozenset | None = None
    neg: frozenset = frozenset()
    must: frozenset = frozenset()
    mustnot: frozenset = frozenset()

    def fits(self, s: str) -> bool:
        low = s.lower()
        return (s not in self.neg and all(m in low for m in self.must)
                and not any(n in low for n in self.mustnot))

    def known_empty(self) -> bool:
        if self.pos is not None:
            return not self.pos
        return any(n in m for n in self.mustnot for m in (*self.must, ""))  # "" is in every string

    def empty(self) -> bool:
        return not self.missing and self.known_empty()

    def some_text(self) -> str:
        needles = "".join(self.must | self.mustnot)
        sep = next(c for c in "-~#|/+*=;:" + "".join(map(chr, range(0x2500, 0x2600))) if c not in needles)
        text = sep.join(sorted(self.must))
        if not text:  # a word rather than an empty text, when it fits
            text = next((w for w in ("other", "text", "x") if self.fits(w)), "")
        while text in self.neg:
            text += sep
        return text


_NOTHING_KNOWN = frozenset()


def _txt(missing, pos=None, neg=frozenset(), must=frozenset(), mustnot=frozenset()) -> Txt:
    t = Txt(missing, pos, neg, must, mustnot)
    if pos is not None:  # normal form: the listed strings that fit, nothing else
        t = Txt(missing, frozenset(s for s in pos if t.fits(s)))
    return t


def _and(a, b):
    if isinstance(a, Num):
        return _num_and(a, b)
    if isinstance(a, Fin):
        return Fin(a.missing and b.missing, a.values & b.values)
    pos = a.pos if b.pos is None else b.pos if a.pos is None else a.pos & b.pos
    return _txt(a.missing and b.missing, pos, a.neg | b.neg, a.must | b.must, a.mustnot | b.mustnot)


def _minus(a, b) -> list:
    """Sets covering ``a`` without ``b`` (each inside ``a``, none empty)."""
    if isinstance(a, Num):
        pieces = [_num_and(a, _num_complement(b))]
    elif isinstance(a, Fin):
        pieces = [Fin(a.missing and not b.missing, a.values - b.values)]
    else:
        pieces = []
        if a.missing and not b.missing:
            pieces.append(Txt(True, _NOTHING_KNOWN))
        known = Txt(False, a.pos, a.neg, a.must, a.mustnot)
        if b.known_empty():
            pieces.append(known)
        else:  # not (among pos, not among neg, all must, no mustnot) = one of these fails
            others = [_txt(False, neg=b.pos)] if b.pos is not None else []
            others += [_txt(False, pos=frozenset((s,))) for s in b.neg]
            others += [_txt(False, mustnot=frozenset((m,))) for m in b.must]
            others += [_txt(False, must=frozenset((n,))) for n in b.mustnot]
            pieces += [_and(known, o) for o in others]
    return [p for p in pieces if not p.empty()]


# ---- boxes: a conjunction of one set per feature (a feature not named may hold anything) ------------------------

def _box_and(a: dict, b: dict) -> dict | None:
    if len(b) > len(a):
        a, b = b, a
    out = dict(a)
    for column, s in b.items():
        mine = out.get(column)
        if mine is not None:
            s = _and(mine, s)
            if s.empty():
                return None
        out[column] = s
    return out


def _sets_meet(x, y) -> bool:
    """Whether two sets of one feature share a value (or missing), without building their intersection."""
    if x.missing and y.missing:
        return True
    if isinstance(x, Fin):
        return not x.values.isdisjoint(y.values)
    if isinstance(x, Num):
        for lo1, lc1, hi1, hc1 in x.spans:
            for lo2, lc2, hi2, hc2 in y.spans:
                if hi1 < lo2 or hi2 < lo1:
                    continue
                lo, lc = (lo1, lc1) if (lo1, not lc1) > (lo2, not lc2) else (lo2, lc2)
                hi, hc = (hi1, hc1) if (hi1, hc1) < (hi2, hc2) else (hi2, hc2)
                if _span(lo, lc, hi, hc):
                    return True
        return False
    return not _and(x, y).empty()


def _boxes_meet(a: dict, b: dict) -> bool:
    if len(b) < len(a):
        a, b = b, a
    for column, s in a.items():
        other = b.get(column)
        if other is not None and not _sets_meet(s, other):
            return False
    return True


def _box_minus(a: dict, b: dict) -> list[dict]:
    """Disjoint boxes covering ``a`` without ``b``."""
    if _box_and(a, b) is None:
        return [a]
    out, rest = [], dict(a)
    for column in sorted(b):
        inside = rest.get(column)
        if inside is None:
            raise KeyError(column)  # callers give a box over every column b names (the universe's)
        for piece in _minus(inside, b[column]):
            out.append({**rest, column: piece})
        rest[column] = _and(inside, b[column])
    return out


def _dnf_and(parts: list[list[dict]]) -> list[dict]:
    result = [{}]
    for part in sorted(parts, key=len):
        result = [box for x in result for y in part if (box := _box_and(x, y)) is not None]
        if len(result) > MAX_CASES:
            raise _TooMany
        if not result:
            break
    return result


def _dnf_or(parts: list[list[dict]]) -> list[dict]:
    result = [box for part in parts for box in part]
    if len(result) > MAX_CASES:
        raise _TooMany
    return result


def _at_least(m: int, parts: list[list[dict]]) -> list[dict]:
    if m <= 0:
        return [{}]
    if m > len(parts):
        return []
    if math.comb(len(parts), m) > MAX_CASES:
        raise _TooMany
    return _dnf_or([_dnf_and(list(combo)) for combo in itertools.combinations(parts, m)])


# ---- the analysis ------------------------------------------------------------------------------------------------

class _Domain:
    """Each feature's universe, the sets of one test on its four rails, and how values are written."""

    def __init__(self, vocabulary):
        self.features = vocabulary.by_column()
        self.universe: dict = {}
        self.spelling: dict = {}  # category column -> key -> allowed value as written
        self.tests: dict = {}  # (test, rail) -> its boxes
        for column, f in self.features.items():
            if f.type == "number":
                lo, hi = f.range if f.range else (-_INF, _INF)
                self.universe[column] = Num(True, (_span(lo, True, hi, True),))
            elif f.type == "category":
                self.spelling[column] = {category_key(v): v for v in f.values}
                self.universe[column] = Fin(True, frozenset(self.spelling[column]))
            elif f.type == "boolean":
                self.universe[column] = Fin(True, frozenset((True, False)))
            else:
                self.universe[column] = Txt(True)

    def known(self, column: str):
        u = self.universe[column]
        return (Num(False, u.spans) if isinstance(u, Num) else Fin(False, u.values) if isinstance(u, Fin)
                else Txt(False))

    def true_set(self, t: L.Test):
        """The values (and missing or not) on which the test is true."""
        u = self.universe[t.column]
        op, v = t.op, t.value
        if op == "missing":
            s = (Num(True, ()) if t.kind == "number" else Txt(True, _NOTHING_KNOWN) if t.kind == "text"
                 else Fin(True, frozenset()))
        elif op == "known":
            s = self.known(t.column)
        elif t.kind == "number":
            if op in ("ne", "not_in"):
                points = [v] if op == "ne" else v
                s = _num_complement(Num(True, tuple(sorted((x, True, x, True) for x in set(points)))))
            else:
                spans = {"gt": lambda: [(v, False, _INF, False)], "ge": lambda: [(v, True, _INF, False)],
                         "lt": lambda: [(-_INF, False, v, False)], "le": lambda: [(-_INF, False, v, True)],
                         "eq": lambda: [(v, True, v, True)],
                         "in": lambda: [(x, True, x, True) for x in sorted(set(v))]}[op]()
                s = Num(False, tuple(sp for sp in (_span(*x) for x in spans) if sp))
        elif t.kind == "text":
            values = frozenset(v if isinstance(v, tuple) else (v,))
            s = {"eq": lambda: _txt(False, pos=values), "in": lambda: _txt(False, pos=values),
                 "ne": lambda: _txt(False, neg=values), "not_in": lambda: _txt(False, neg=values),
                 "contains": lambda: _txt(False, must=frozenset((v.lower(),))),
                 "not_contains": lambda: _txt(False, mustnot=frozenset((v.lower(),)))}[op]()
        else:
            values = frozenset(v) if isinstance(v, tuple) else frozenset((v,))
            if t.kind == "category":
                values = frozenset(category_key(x) for x in values)
            known = self.known(t.column).values
            s = Fin(False, values & known if op in ("eq", "in") else known - values)
        return _and(u, s)

    def false_set(self, t: L.Test):
        if t.op in ("missing", "known"):
            return self.true_set(L.Test(t.column, t.kind, "known" if t.op == "missing" else "missing"))
        flip = {"gt": "le", "ge": "lt", "lt": "ge", "le": "gt", "eq": "ne", "ne": "eq", "in": "not_in",
                "not_in": "in", "contains": "not_contains", "not_contains": "contains"}
        if t.kind == "boolean":  # booleans are tested with eq only: false when the other value
            return self.true_set(L.Test(t.column, t.kind, "eq", not t.value))
        return self.true_set(L.Test(t.column, t.kind, flip[t.op], t.value))

    def rail(self, node: L.Logic, rail: str) -> list[dict]:
        """Boxes whose union is where ``node`` is on ``rail``: T true, F false, NT not true, NF not false."""
        if isinstance(node, L.Test):
            # Rules share tests (round thresholds, the same allowed values): each test's boxes are made once per
            # verification (callers never change a list or box they are given).
            boxes = self.tests.get((node, rail))
            if boxes is None:
                base = self.true_set(node) if rail in ("T", "NT") else self.false_set(node)
                if rail in ("T", "F"):
                    boxes = [{node.column: base}] if not base.empty() else []
                else:
                    boxes = [{node.column: s} for s in _minus(self.universe[node.column], base)]
                self.tests[(node, rail)] = boxes
            return boxes
        if isinstance(node, L.Not):
            return self.rail(node.item, {"T": "F", "F": "T", "NT": "NF", "NF": "NT"}[rail])
        parts = [self.rail(item, rail) for item in node.items]
        if isinstance(node, L.AtLeast):
            k, n = len(node.items), node.count
            return _at_least(n if rail in ("T", "NF") else k - n + 1, parts)
        conjunction = (rail in ("T", "NF")) == isinstance(node, L.All)
        return _dnf_and(parts) if conjunction else _dnf_or(parts)

    # ---- words -------------------------------------------------------------------------------------------------
    def name(self, column: str) -> str:
        return self.features[column].name

    def sample(self, s, column: str):
        """A value of the set (None: missing), known when it can be, round when it can be."""
        if isinstance(s, Num):
            if not s.spans:
                return None
            return _round_inside(*s.spans[0])
        if isinstance(s, Fin):
            if not s.values:
                return None
            if column in self.spelling:
                key = sorted(s.values)[0]
                return self.spelling[column][key]
            return sorted(s.values)[0]
        if s.known_empty():
            return None
        return sorted(s.pos)[0] if s.pos is not None else s.some_text()

    def random_case(self, box: dict, rng: random.Random) -> dict:
        """Another case of the box, drawn at random (known values when the set has some)."""
        case = {}
        for column, s in sorted(box.items()):
            if isinstance(s, Num) and s.spans:
                lo, lc, hi, hc = rng.choice(s.spans)
                lo, hi = max(lo, -1e6), min(hi, 1e6)
                x = rng.choice([round(rng.uniform(lo, hi), rng.choice((0, 1, 2))), rng.uniform(lo, hi), lo, hi])
                case[column] = x if _span(*s.spans[0]) and any(
                    (sl < x or slc and sl == x) and (x < sh or shc and x == sh) for sl, slc, sh, shc in s.spans) \
                    else self.sample(s, column)
            elif isinstance(s, Fin) and s.values:
                key = rng.choice(sorted(s.values, key=str))
                case[column] = self.spelling[column][key] if column in self.spelling else key
            else:
                case[column] = self.sample(s, column)
        return case

    def holds(self, box: dict, case: dict) -> bool:
        """Whether a case (by data column, as ``witness`` gives; absent = missing) lies in the box."""
        for column, s in box.items():
            value = case.get(column)
            if value is None:
                if not s.missing:
                    return False
            elif isinstance(s, Num):
                if not any((lo < value or lc and lo == value) and (value < hi or hc and value == hi)
                           for lo, lc, hi, hc in s.spans):
                    return False
            elif isinstance(s, Fin):
                if (category_key(value) if column in self.spelling else value) not in s.values:
                    return False
            elif s.known_empty() or s.pos is not None and value not in s.pos or not s.fits(value):
                return False
        return True

    def witness(self, box: dict) -> dict:
        """The case, by data column, and the same in words (feature name -> value)."""
        return {column: self.sample(s, column) for column, s in sorted(box.items())}

    def describe(self, column: str, s) -> str:
        """A set in the words of a rule ("worst radius is above 17 and at most 20")."""
        name, f = self.name(column), self.features[column]
        unit = f" {f.unit}" if f.unit else ""
        parts = []
        if isinstance(s, Num):
            for lo, lc, hi, hc in s.spans:
                if lo == hi:
                    parts.append(f"{name} is {_num(lo)}{unit}")
                    continue
                low = "" if lo == -_INF or f.range and lo == f.range[0] and lc else \
                    f"{'at least' if lc else 'above'} {_num(lo)}{unit}"
                high = "" if hi == _INF or f.range and hi == f.range[1] and hc else \
                    f"{'at most' if hc else 'below'} {_num(hi)}{unit}"
                parts.append(f"{name} is " + (" and ".join(p for p in (low, high) if p) or "known"))
        elif isinstance(s, Fin):
            values = sorted(s.values, key=str)
            if f.type == "boolean":
                parts += [f"{name} is {'yes' if v else 'no'}" for v in values]
            elif len(values) == 1:
                parts.append(f"{name} is {quote(self.spelling[column][values[0]])}")
            elif values:
                parts.append(f"{name} is one of " + ", ".join(quote(self.spelling[column][v]) for v in values))
        else:
            if not s.known_empty():
                bits = []
                if s.pos is not None:
                    bits.append("one of " + ", ".join(quote(x) for x in sorted(s.pos)))
                bits += [f"is not {quote(x)}" for x in sorted(s.neg)]
                bits += [f"contains {quote(x)}" for x in sorted(s.must)]
                bits += [f"does not contain {quote(x)}" for x in sorted(s.mustnot)]
                parts.append(f"{name} " + (" and ".join(bits) or "is known"))
        if s.missing:
            parts.append(f"{name} is missing")
        return " or ".join(parts) if len(parts) == 1 else "(" + " or ".join(parts) + ")"


def _num(x: float) -> str:
    return format_number(Decimal(repr(x)))


def _round_inside(lo: float, lc: bool, hi: float, hc: bool) -> float:
    def inside(x: float) -> bool:
        return (lo < x or lc and x == lo) and (x < hi or hc and x == hi)

    if lo == -_INF and hi == _INF:
        return 0.0
    if lo == -_INF:  # no lower limit: 0 when it is inside (a negative age or count reads oddly)
        candidates = [0.0, hi - 1, math.floor(hi) - 1]
    elif hi == _INF:
        candidates = [0.0, lo + 1, math.floor(lo) + 1]
    else:
        mid = (lo + hi) / 2
        candidates = [round(mid, d) for d in range(0, 17)] + [mid]
    if lc:
        candidates.insert(0, lo) if hi == _INF or lo == hi else candidates.append(lo)
    if hc:
        candidates.append(hi)
    candidates += [math.nextafter(lo, _INF), math.nextafter(hi, -_INF)]
    for x in candidates:
        if math.isfinite(x) and inside(x):
            return float(x)
    raise ValueError("empty interval")  # _span never keeps one


# Rails of checked conditions, kept between calls: the editor asks for one rule's findings on every change, and
# expanding the 999 others again each time cost ~0.5 s of the 0.6 s (docs/benchmarks.md). Keyed by the identity of
# the vocabulary and the logic (the server's compile memo keeps both alive between versions); each entry holds
# them, so an id is never reused while its entry lives. Bounded: cleared when it grows past the limit.
_RAILS: dict[tuple[int, int], tuple] = {}
_RAILS_LIMIT = 50_000
_ABSENT = object()


def _remembered_rails(vocabulary, logic) -> dict:
    key = (id(vocabulary), id(logic))
    entry = _RAILS.get(key)
    if entry is None or entry[0] is not vocabulary or entry[1] is not logic:
        if len(_RAILS) > _RAILS_LIMIT:
            _RAILS.clear()
        entry = _RAILS[key] = (vocabulary, logic, {})
    return entry[2]


@dataclass
class _Rule:
    id: str
    name: str
    label: str | None
    priority: int
    logic: L.Logic
    columns: tuple[str, ...]
    rails: dict = field(default_factory=dict)  # rail -> boxes, or None when too many
    lone_not_true: frozenset | None = None

    def __post_init__(self):
        self.colset = frozenset(self.columns)
        # Features on which the condition is surely not true alone, read from its shape without expanding it: each
        # test of a top-level "and" other than "is missing" is not true when its feature is missing, so such a
        # feature is among ``lone_not_true`` (a subset of it: enough to rule out "fires only where" cheaply).
        items = self.logic.items if isinstance(self.logic, L.All) else (self.logic,)
        self.surely_lone = frozenset(t.column for t in items if isinstance(t, L.Test) and t.op != "missing")


class _Verifier:
    def __init__(self, ruleset):
        self.ruleset = ruleset
        self.domain = _Domain(ruleset.vocabulary)
        self.first_match = ruleset.policy.kind == "first match"
        self.rules = {r.id: _Rule(r.id, r.name, r.conclusion.label if r.conclusion else None, r.priority, r.logic,
                                  tuple(dict.fromkeys(t.column for t in L.tests(r.logic))),
                                  _remembered_rails(ruleset.vocabulary, r.logic))
                      for r in ruleset.active_rules}
        voters = [Voter(r.id, r.label, 1.0, r.priority) for r in self.rules.values() if r.label is not None]
        self.order = [v.id for v in order_voters(voters)]
        self.position = {rule_id: i for i, rule_id in enumerate(self.order)}
        self.voters = {v.id: v for v in ruleset.voters}
        self.met: dict[tuple[str, str], bool] = {}  # pairs of rules: whether they fire together somewhere
        self.whole = False  # verify() sets it: witnesses then run through the whole rule set's function
        self.dropped = 0  # findings whose witness did not hold (a bug; tests demand 0)
        self.decides: set[str] | None = None  # rules shown able to decide under first match (quick_decides)

    # ---- the rails of a rule, remembered ----------------------------------------------------------------------
    def rail(self, rule: _Rule, name: str) -> list[dict] | None:
        boxes = rule.rails.get(name, _ABSENT)
        if boxes is not _ABSENT:
            return boxes
        try:
            boxes = self.domain.rail(rule.logic, name)
        except (_TooMany, RecursionError):
            boxes = None
        rule.rails[name] = boxes
        return boxes

    # ---- running the rules on a witness ---------------------------------------------------------------------
    def fired(self, case: dict, ids: Iterable[str]) -> set[str]:
        """The rules among ``ids`` that fire on the case, by the compiled per-row backend: the whole rule set's
        function when the whole rule set is verified (built once), a small one of these rules otherwise."""
        if self.whole:
            return set(self.ruleset.matches_row(case)) & set(ids)
        ids = set(ids)
        self.prepare_runs(ids)
        fired, answers = set(), {}
        for rule_id in ids:
            run, key = self.rules[rule_id].rails["run"]
            out = answers.get(run)
            if out is None:
                out = answers[run] = run(case)
            if key in out:
                fired.add(rule_id)
        return fired

    def prepare_runs(self, ids: Iterable[str]) -> None:
        """Compile one per-row function for the rules among ``ids`` that have none yet, kept with each rule's rails
        as (function, the rule's key in it). One compile of 100 rules costs ~10 ms, a rule alone ~0.55 ms: the
        editor's first check of one rule against 999 others compiled ~120 rules one by one (half its time)."""
        todo = {}
        for rule_id in ids:
            rule = self.rules[rule_id]
            if "run" not in rule.rails:
                todo[id(rule.rails)] = rule  # rules with the same checked logic share their rails
        if not todo:
            return
        keys = [(f"r{i}", rule) for i, rule in enumerate(todo.values())]
        run = compile_rules([(key, rule.logic) for key, rule in keys], self.ruleset.vocabulary)
        for key, rule in keys:
            rule.rails["run"] = (run, key)

    def words(self, case: dict) -> dict:
        return {self.domain.name(c): v for c, v in case.items()}

    def unit_words(self, case: dict) -> str:
        parts = []
        for column, value in case.items():
            f = self.domain.features[column]
            if value is None:
                parts.append(f"{f.name} missing")
            elif f.type == "number":
                parts.append(f"{f.name} {_num(value)}{' ' + f.unit if f.unit else ''}")
            elif f.type == "boolean":
                parts.append(f"{f.name} {'yes' if value else 'no'}")
            else:
                parts.append(f"{f.name} {quote(value)}")
        return ", ".join(parts) if parts else "any case"

    # ---- one rule on its own -----------------------------------------------------------------------------------
    def alone(self, r: _Rule) -> list[Finding]:
        true = self.rail(r, "T")
        if true is None:
            return [Finding("not analysed", (r.id,), f"'{r.name}' was not analysed: too many combinations (its "
                            f"'or' and 'at least N of' parts expand into more than {MAX_CASES} cases).")]
        if not true:
            return [Finding("never", (r.id,), f"'{r.name}' can never fire: no case within the vocabulary's ranges "
                            "and allowed values makes its condition true. Check its numbers, units and "
                            "'and' / 'or'.")]
        not_true = self.rail(r, "NT")
        if not_true is None:
            return []
        known = {c: self.domain.known(c) for c in r.columns}
        only_known_tests = all(t.op in ("missing", "known") for t in L.tests(r.logic))
        if not_true and only_known_tests:
            return []  # "x is known" is true whenever x is known: what it says, not a finding
        if not [b for b in not_true if _box_and(b, known) is not None]:
            case = self.domain.witness({**known, **true[0]})
            if r.id not in self.fired(case, [r.id]):
                self.dropped += 1
                return []
            when = "for every case" if not not_true else "whenever its features are known"
            return [Finding("always", (r.id,), f"'{r.name}' always fires {when}: no value within the "
                            "vocabulary's ranges and allowed values makes its condition false. A rule that "
                            "always fires says nothing about the case.", self.words(case))]
        return []

    # ---- two rules ----------------------------------------------------------------------------------------------
    def overlap(self, a: _Rule, b: _Rule) -> dict | None:
        """A box where both rules fire, or None."""
        ta, tb = self.rail(a, "T"), self.rail(b, "T")
        if not ta or not tb:
            return None
        for x in ta:
            for y in tb:
                if _boxes_meet(x, y):
                    return _box_and(x, y)
        return None

    def overlaps(self, a: _Rule, b: _Rule) -> bool:
        if a.colset.isdisjoint(b.colset):  # no feature in common: both fire together wherever each can fire
            return bool(self.rail(a, "T") and self.rail(b, "T"))
        key = (a.id, b.id) if a.id < b.id else (b.id, a.id)
        known = self.met.get(key)
        if known is None:
            ta, tb = self.rail(a, "T"), self.rail(b, "T")
            known = self.met[key] = bool(ta and tb and (a.colset.isdisjoint(b.colset) or any(
                _boxes_meet(x, y) for x in ta for y in tb)))
        return known

    def within(self, a: _Rule, b: _Rule) -> bool:
        """Whether ``a`` fires only where ``b`` fires."""
        if not b.surely_lone <= a.colset:
            return False  # b is not true where a feature a says nothing about is missing (no expansion needed)
        ta, nb = self.rail(a, "T"), self.rail(b, "NT")
        if not ta or nb is None:
            return False
        if b.lone_not_true is None:  # features on which, alone, b can be not true
            b.lone_not_true = frozenset(c for box in nb if len(box) == 1 for c in box)
        if not b.lone_not_true <= a.colset:
            return False  # a says nothing about such a feature: b is not true on some case where a fires
        return not any(_boxes_meet(x, y) for x in ta for y in nb)

    def conflict(self, a: _Rule, b: _Rule) -> Finding | None:
        box = self.overlap(a, b)
        if box is None:
            return None
        case = self.domain.witness(box)
        if self.fired(case, [a.id, b.id]) != {a.id, b.id}:
            self.dropped += 1
            return None
        first, second = (a, b) if self.position[a.id] < self.position[b.id] else (b, a)
        message = (f"'{a.name}' ({a.label}) and '{b.name}' ({b.label}) can both fire on the same case, for example "
                   f"{self.unit_words(case)}.")
        if self.first_match:
            if first.priority == second.priority:
                message += (f" They have the same priority ({first.priority}), so '{first.name}' wins only "
                            "because of the order of their names: give the one that should decide a higher "
                            "priority.")
            else:
                message += f" Under first match '{first.name}' decides (higher priority)."
        else:
            va, vb = self.voters.get(a.id), self.voters.get(b.id)
            if va and vb:
                message += f" The vote decides: confidence {va.weight:g} against {vb.weight:g}."
        return Finding("conflict", (a.id, b.id), message, self.words(case))

    def redundant(self, a: _Rule, b: _Rule) -> Finding | None:
        """``a`` redundant next to ``b`` (same conclusion, a fires only where b does)."""
        if not self.within(a, b):
            return None
        case = self.domain.witness(self.rail(a, "T")[0])
        fired = self.fired(case, [a.id, b.id])
        if fired != {a.id, b.id}:
            self.dropped += 1
            return None
        same = self.within(b, a)
        message = (f"'{a.name}' and '{b.name}' fire on exactly the same cases and both conclude {a.label}: one of "
                   "them is enough." if same else
                   f"'{a.name}' fires only where '{b.name}' also fires, and both conclude {a.label}: '{a.name}' adds "
                   "nothing unless its confidence or priority matters.")
        return Finding("redundant", (a.id, b.id), message + f" For example {self.unit_words(case)}.",
                       self.words(case))

    # ---- the policy ------------------------------------------------------------------------------------------------
    def unreachable(self, a: _Rule) -> Finding | None:
        if not self.first_match or a.label is None:
            return None
        left = self.rail(a, "T")
        if not left:
            return None
        # Quick: a case on which no earlier rule fires shows the rule can decide (most rules); a few tries per box.
        if self.decides is not None:  # tried for every rule at once (quick_decides)
            if a.id in self.decides:
                return None
        elif any(not self.earlier_fires(a, case) for case in self.samples(a)):
            return None
        before = [self.rules[i] for i in self.order[:self.position[a.id]]]
        overlapping = []
        for b in before:
            if self.overlaps(a, b):
                overlapping.append(b)
                if len(overlapping) > MAX_BLOCKERS:
                    return Finding("not analysed", (a.id,), f"Whether '{a.name}' can ever decide under first match "
                                   f"was not analysed: more than {MAX_BLOCKERS} rules tried before it overlap it, "
                                   "too many combinations.")
        before = overlapping
        universe = {c: self.domain.universe[c] for c in a.columns}
        left = [{**universe, **box} for box in left]
        blockers, work = [], 0
        for other in before:
            boxes = self.rail(other, "T")
            if not boxes:
                continue  # not analysed or never: it cannot be counted on to answer first
            hit = False
            for box in boxes:
                box = {**{c: self.domain.universe[c] for c in box}, **box}
                nxt = []
                for region in left:
                    region = {**{c: self.domain.universe[c] for c in box if c not in region}, **region}
                    pieces = _box_minus(region, box)
                    if len(pieces) != 1 or pieces[0] is not region:
                        hit = True
                    nxt += pieces
                left = nxt
                work += len(left)
                if len(left) > MAX_GAP_REGIONS or work > MAX_WORK:
                    return Finding("not analysed", (a.id,), f"Whether '{a.name}' can ever decide under first match "
                                   "was not analysed: too many combinations with the rules tried before it.")
            if hit:
                blockers.append(other)
            if not left:
                break
        if left or not blockers:
            return None
        return self.shadowed(a, blockers)

    def samples(self, a: _Rule) -> Iterator[dict]:
        """The cases the quick test tries for a rule: each region's witness, then a few drawn at random (seeded by
        the rule's id, so every run tries the same)."""
        rng = random.Random(a.id)
        for box in self.rail(a, "T") or ():
            for attempt in range(SAMPLES):
                yield self.domain.witness(box) if attempt == 0 else self.domain.random_case(box, rng)

    def quick_decides(self, rules: list[_Rule]) -> set[str] | None:
        """The rules among ``rules`` that can decide under first match, shown by one of their ``samples`` on which
        no rule tried before them fires. Every sample of every rule is run through the rule set's vectorized
        backend at once: 7,000 cases of the 1,000 bench rules took 0.06 s so, against 0.45 s one case at a time
        through the per-row function (the same answers: tests/rules_dsl/test_parity.py). None when the batch
        cannot be run; then each rule is tried case by case."""
        cases, owners = [], []
        for a in rules:
            for case in self.samples(a):
                cases.append(case)
                owners.append(a.id)
        if not cases:
            return set()
        try:
            fired = self.ruleset.matches_array(pd.DataFrame(cases).reindex(columns=self.ruleset.columns))
        except Exception:  # noqa: BLE001 - a shortcut only: the case-by-case way gives the same answer
            return None
        last = len(self.order)  # rules that conclude nothing are never tried before another
        position = np.array([self.position.get(i, last) for i in self.ruleset.rule_ids])
        earliest = np.where(fired, position, last).min(axis=1) if fired.shape[1] else np.full(len(cases), last)
        return {owner for owner, first in zip(owners, earliest.tolist(), strict=True) if first >= self.position[owner]}

    def shadowed(self, a: _Rule, blockers: list[_Rule]) -> Finding | None:
        """The finding that ``a`` never decides because of ``blockers`` (proven by the caller), with a witness."""
        for blocker in blockers:
            box = self.overlap(a, blocker)
            if box is None:
                continue
            case = self.domain.witness(box)
            ids = [a.id, blocker.id]
            decision = decide(sorted(self.fired(case, ids)), [self.voters_for(i) for i in ids],
                              self.ruleset.outcome, self.ruleset.policy)
            if a.id not in decision.fired or decision.deciding != (blocker.id,):
                self.dropped += 1
                return None
            names = ", ".join(f"'{b.name}'" for b in blockers[:5]) + (" and others" if len(blockers) > 5 else "")
            return Finding("unreachable", (a.id, *(b.id for b in blockers)),
                           f"'{a.name}' can never decide: whenever it fires, a rule tried before it under first "
                           f"match has already answered ({names}). For example {self.unit_words(case)}: "
                           f"'{blocker.name}' decides. Raise its priority or remove it.", self.words(case))
        return None

    def earlier_fires(self, a: _Rule, case: dict) -> bool:
        """Whether a rule tried before ``a`` fires on the case (the whole rule set's function, or the rules'
        boxes when only one rule is verified)."""
        mine = self.position[a.id]
        if self.whole:
            return any(self.position.get(i, mine) < mine for i in self.ruleset.matches_row(case))
        for rule_id in self.order[:mine]:
            boxes = self.rail(self.rules[rule_id], "T")
            if boxes and any(self.domain.holds(box, case) for box in boxes):
                return True
        return False

    def voters_for(self, rule_id: str) -> Voter:
        r = self.rules[rule_id]
        return Voter(r.id, r.label, 1.0, r.priority)

    def gaps(self) -> list[Finding]:
        concluding = [self.rules[i] for i in self.order]
        if not concluding:
            return []
        columns = sorted({c for r in concluding for c in r.columns})
        regions = [{c: self.domain.known(c) for c in columns}]
        for r in concluding:
            boxes = self.rail(r, "T")
            if boxes is None:
                return [Finding("not analysed", (r.id,), f"Gaps were not looked for: '{r.name}' has too many "
                                "combinations to analyse.")]
            for box in boxes:
                regions = [piece for region in regions for piece in _box_minus(region, box)]
                if len(regions) > MAX_GAP_REGIONS:
                    return [Finding("not analysed", (), "Gaps were not looked for: the rules split the cases into "
                                    "too many combinations to list the ones no rule covers.")]
            if not regions:
                return []
        default = self.ruleset.policy.default
        after = (f"the default {default} answers" if default is not None
                 else "the rules abstain and the case goes back to a person")
        out = []
        ids = list(self.order)
        known = {c: self.domain.known(c) for c in columns}
        # the broadest regions first: those bounded on fewest features say most plainly what is missing
        regions.sort(key=lambda region: sum(s != known[c] for c, s in region.items()))
        for region in regions[:MAX_GAPS]:
            case = self.domain.witness(region)
            if self.fired(case, ids):
                self.dropped += 1
                continue
            words = tuple(self.domain.describe(c, s) for c, s in sorted(region.items()) if s != known[c])
            where = " and ".join(words) if words else "every case with these features known"
            out.append(Finding("gap", (), f"No rule concludes when {where}: {after}. For example "
                               f"{self.unit_words(case)}.", self.words(case), words))
        if len(regions) > MAX_GAPS:
            out.append(Finding("not analysed", (), f"{len(regions) - MAX_GAPS} more regions where no rule "
                               "concludes are not listed."))
        return out


def verify(ruleset) -> list[Finding]:
    """Every finding about the enabled rules of a rule set, by kind in the order of KINDS."""
    v = _Verifier(ruleset)
    v.whole = True
    return _report(v, list(v.rules.values()), None)


def verify_rule(ruleset, rule) -> list[Finding]:
    """The findings that concern one rule (an id, or a compiled rule such as a draft in the editor, which
    replaces the rule of the same id): its own condition, the rules it conflicts with, is redundant with, or
    that it makes unreachable or is made unreachable by. Gaps concern the whole rule set and are left out."""
    if isinstance(rule, str):
        rule = ruleset.rule(rule)
    else:
        ruleset = ruleset.with_rule(rule)
    if not rule.enabled:
        return []
    v = _Verifier(ruleset)
    return _report(v, list(v.rules.values()), v.rules[rule.id])


def _report(v: _Verifier, rules: list[_Rule], focus: _Rule | None) -> list[Finding]:
    by_kind: dict[str, list[Finding]] = {k: [] for k in KINDS}
    more: dict[str, int] = dict.fromkeys(KINDS, 0)  # found but not listed (beyond MAX_LISTED)
    subjects = [focus] if focus else rules
    silent = set()
    for r in subjects:
        for f in v.alone(r):
            by_kind[f.kind].append(f)
            if f.kind != "always":
                silent.add(r.id)
    concluding = [r for r in rules if r.label is not None and r.id not in silent]

    pending: dict[str, list] = {k: [] for k in KINDS}  # findings to list, made (witness run) once all are known

    def listed(kind: str, make, ids=()) -> None:
        """A finding found: listed with its checked witness while the list is short, counted after."""
        if len(by_kind[kind]) + len(pending[kind]) >= MAX_LISTED:
            more[kind] += 1
            return
        pending[kind].append(make)
        involved.update(ids)

    def make_pending() -> None:
        if focus is not None:
            v.prepare_runs(involved)  # every witness of the pairs below run by one compiled function
        for kind, makes in pending.items():
            for make in makes:
                f = make()
                if f is not None:
                    by_kind[kind].append(f)
            makes.clear()
        involved.clear()

    involved: set[str] = set()

    conflicts = pending["conflict"]  # by_kind has none yet: the pending ones are all there are
    for i, a in enumerate(concluding):
        if focus is not None and a is not focus:
            continue
        partners = concluding[i + 1:] if focus is None else [b for b in concluding if b is not a]
        for b in partners:
            if a.label != b.label:
                # In the whole report every concluding rule can fire (the others are silent): two with no feature
                # in common fire together, no expansion needed (most of the half million pairs of 1,000 rules).
                if focus is None and a.colset.isdisjoint(b.colset) or v.overlaps(a, b):
                    if len(conflicts) >= MAX_LISTED:  # the common case past the first hundred: counted only
                        more["conflict"] += 1
                    else:
                        listed("conflict", lambda a=a, b=b: v.conflict(a, b), (a.id, b.id))
            elif b.surely_lone <= a.colset and v.within(a, b):
                listed("redundant", lambda x=a, y=b: v.redundant(x, y), (a.id, b.id))
            elif a.surely_lone <= b.colset and v.within(b, a):
                listed("redundant", lambda x=b, y=a: v.redundant(x, y), (b.id, a.id))
    make_pending()
    if v.first_match:
        if focus is None:
            targets = concluding
            v.decides = v.quick_decides(targets)
        else:  # the edited rule, and the rules after it that it alone shadows (quick; verify() finds the rest)
            after = v.order[v.position[focus.id] + 1:] if focus.id in v.position else []
            targets = [focus] + [v.rules[i] for i in after if i not in silent and v.within(v.rules[i], focus)]
            v.prepare_runs(r.id for r in targets)
        for r in targets:
            if focus is not None and r is not focus:
                f = v.shadowed(r, [focus])
            else:
                f = v.unreachable(r) if r.label is not None and r.id not in silent else None
            if f and f.kind == "not analysed":
                if focus is None or f.rules[0] == focus.id:
                    listed("not analysed", lambda f=f: f)
            elif f and (focus is None or focus.id in f.rules):
                listed("unreachable", lambda f=f: f)
        make_pending()
    if focus is None:
        by_kind["gap"] = v.gaps()
    out = []
    for kind in KINDS:
        out += by_kind[kind]
        if more[kind]:
            out.append(Finding("not analysed", (), f"{more[kind]:,} more findings of the kind '{kind}' are not "
                               f"listed (only the first {MAX_LISTED} are)."))
    return out
