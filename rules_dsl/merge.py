"""Three-way merge of a rule in its structured form (structured.py): the version an author started from (base),
the version someone else saved meanwhile (theirs) and the author's own (mine).

Changes to different parts combine: the name, priority, enabled flag, each part of the conclusion (outcome,
label, confidence), the "because", and each condition on its own, found again by content and then by feature
even when conditions were added, removed or moved. Only the same part changed two different ways is a
conflict; it carries both values to pick from. A text merge line by line cannot do this: two conditions on
neighbouring lines look like one changed block (issue 15, item 7).

``Merge.rule`` holds every combined change and, where the two disagree, the author's own value (a condition
one side removed and the other changed stays in, so nothing is lost until a person picks). Each conflict names
its place as a path into ``Merge.rule`` (``when.all[1]``, ``then.label``); a value of ``None`` for a condition
means "removed". ``resolve`` applies the picks. Pure: no I/O, JSON in, JSON out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_GROUP_KINDS = ("all", "any", "at_least")
_FIELDS = (("name", "the name"), ("priority", "the priority"), ("enabled", "whether the rule is switched on"),
           ("because", "the reason (because)"))
_CONCLUSION = (("outcome", "the outcome"), ("label", "the conclusion's label"), ("confidence", "the confidence"))


@dataclass(frozen=True)
class Conflict:
    """The same part changed two ways: ``path`` into the merged rule, ``what`` in words, the three values."""

    path: str
    what: str
    base: Any
    theirs: Any
    mine: Any

    def to_dict(self) -> dict:
        return {"path": self.path, "what": self.what, "base": self.base, "theirs": self.theirs, "mine": self.mine}


@dataclass(frozen=True)
class Combined:
    """A change taken into the merged rule: ``what`` in words, ``by`` "theirs", "mine" or "both" (the same)."""

    what: str
    by: str

    def to_dict(self) -> dict:
        return {"what": self.what, "by": self.by}


@dataclass
class Merge:
    rule: dict
    combined: list[Combined] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.conflicts

    def to_dict(self) -> dict:
        return {"rule": self.rule, "combined": [c.to_dict() for c in self.combined],
                "conflicts": [c.to_dict() for c in self.conflicts]}


# Conflicts are collected with their path as segments, relative to the node being merged, and given their
# full path once the parent knows where the node landed (items added by either side shift positions).
_Found = tuple[list[Combined], list[tuple[list, str, Any, Any, Any]]]


def merge_rules(base: dict, theirs: dict, mine: dict) -> Merge:
    """Merge two structured rules that both started from ``base``."""
    combined: list[Combined] = []
    conflicts: list[tuple[list, str, Any, Any, Any]] = []
    found = (combined, conflicts)
    rule: dict = {}
    for key, what in _FIELDS:
        rule[key] = _value([key], what, base.get(key), theirs.get(key), mine.get(key), found)
    rule["when"] = _condition(base.get("when"), theirs.get("when"), mine.get("when"), found, ["when"])
    b, t, y = base.get("then"), theirs.get("then"), mine.get("then")
    if all(isinstance(x, dict) for x in (b, t, y)):
        rule["then"] = {key: _value(["then", key], what, b.get(key), t.get(key), y.get(key), found)
                        for key, what in _CONCLUSION}
    else:
        rule["then"] = _value(["then"], "the conclusion", b, t, y, found)
    return Merge(rule, combined, [Conflict(_path_text(p), w, *values) for p, w, *values in conflicts])


def resolve(merge: Merge, picks: dict[str, str]) -> dict:
    """The merged rule with each conflict settled: ``picks`` maps a conflict's path to "theirs" or "mine"
    (a conflict not in ``picks`` keeps "mine"). A condition picked as removed leaves its group."""
    rule = _copy(merge.rule)
    for conflict in merge.conflicts:
        value = conflict.theirs if picks.get(conflict.path) == "theirs" else conflict.mine
        _set(rule, _path_segments(conflict.path), _Removed if value is None and "when" in conflict.path
             and conflict.path != "when" else _copy(value))
    when = _tidy(rule["when"])
    rule["when"] = {"all": []} if when is _Removed else when  # (the check then asks for a condition)
    return rule


# ---- one value ---------------------------------------------------------------------------------------------------

def _value(path: list, what: str, base, theirs, mine, found: _Found):
    combined, conflicts = found
    if theirs == mine:
        if mine != base:
            combined.append(Combined(what, "both"))
        return mine
    if theirs == base:
        combined.append(Combined(what, "mine"))
        return mine
    if mine == base:
        combined.append(Combined(what, "theirs"))
        return theirs
    conflicts.append((path, what, base, theirs, mine))
    return mine


# ---- conditions --------------------------------------------------------------------------------------------------

def _kind(condition) -> str | None:
    if not isinstance(condition, dict):
        return None
    return next((k for k in ("feature", "not", *_GROUP_KINDS) if k in condition), None)


def _items(group: dict) -> list:
    return group["of"] if "at_least" in group else group[_kind(group)]


def _as_group(condition, like: dict) -> dict:
    """A single condition seen as a group of one, so that adding a condition beside it merges with a change to it."""
    if _kind(condition) in _GROUP_KINDS:
        return condition
    return {"all": [condition]} if _kind(like) != "at_least" else {"at_least": 1, "of": [condition]}


def describe(condition) -> str:
    """A condition in a few words, for "what was combined" and for conflicts."""
    kind = _kind(condition)
    if kind == "feature":
        return f"the condition on {condition['feature']}"
    if kind == "not":
        return "the 'not' around " + describe(condition["not"])
    if kind in _GROUP_KINDS:
        words = {"all": "all of", "any": "any of", "at_least": f"at least {condition.get('at_least')} of"}[kind]
        features = sorted({f for item in _items(condition) for f in _features(item)})
        return f"the group '{words}' ({', '.join(features)})"
    return "the condition"


def _features(condition) -> list[str]:
    kind = _kind(condition)
    if kind == "feature":
        return [condition["feature"]]
    if kind == "not":
        return _features(condition["not"])
    if kind in _GROUP_KINDS:
        return [f for item in _items(condition) for f in _features(item)]
    return []


def _condition(base, theirs, mine, found: _Found, path: list):
    combined, conflicts = found
    if theirs == mine == base:
        return mine
    kinds = {_kind(base), _kind(theirs), _kind(mine)}
    if kinds == {"not"}:
        inner = _condition(base["not"], theirs["not"], mine["not"], found, [*path, "not"])
        return {"not": inner}
    if kinds & set(_GROUP_KINDS) and kinds <= {*_GROUP_KINDS, "feature", "not"}:
        # Into groups even when only one side changed, so that what was combined names each condition.
        like = next(x for x in (mine, theirs, base) if _kind(x) in _GROUP_KINDS)
        before = len(conflicts)
        group = _group(*(_as_group(x, like) for x in (base, theirs, mine)), found, path)
        whole = [k for k in range(before, len(conflicts)) if conflicts[k][0] == path]
        for k in whole:  # a conflict on the whole group offers the versions as written, not as groups of one
            conflicts[k] = (path, describe(base), base, theirs, mine)
        if whole:
            return mine
        if len(conflicts) > before:
            return group
        if mine == base or theirs == mine:  # one side's change as it wrote it (its order, its grouping)
            return theirs
        if theirs == base:
            return mine
        key = _kind(group)
        if key in ("all", "any") and len(group[key]) == 1:
            return group[key][0]  # a group of one is the condition (structured.py reads it so)
        return group
    if theirs == mine:
        combined.append(Combined(describe(mine), "both"))
        return mine
    if theirs == base:
        combined.append(Combined(describe(mine), "mine"))
        return mine
    if mine == base:
        combined.append(Combined(describe(theirs), "theirs"))
        return theirs
    conflicts.append((path, describe(base), base, theirs, mine))
    return mine


def _group(base: dict, theirs: dict, mine: dict, found: _Found, path: list) -> dict:
    before = len(found[1])
    kind = _value([*path], "the kind of group", _kind(base), _kind(theirs), _kind(mine), found)
    if len(found[1]) > before:  # the kind changed two ways: a conflict on the whole group, both groups to pick from
        found[1][before] = (path, describe(base), base, theirs, mine)
        return mine
    if kind == "at_least":
        count = _value([*path, "at_least"], "how many of the group must hold",
                       base.get("at_least", 1), theirs.get("at_least", 1), mine.get("at_least", 1), found)
    key = "of" if kind == "at_least" else kind
    items = _items_merged(_items(base), _items(theirs), _items(mine), found, [*path, key])
    if not items:  # each removed a different part and nothing is left: a group needs a condition, so ask
        found[1].append((path, describe(base), base, theirs, mine))
        return mine
    return {"at_least": count, "of": items} if kind == "at_least" else {kind: items}


def _match(base: list, other: list) -> dict[int, int]:
    """Which item of ``other`` each item of ``base`` became: the same content first, then the only condition on
    the same feature (or the same single feature inside a group), then groups of the same kind in order."""
    matched: dict[int, int] = {}
    used: set[int] = set()
    for i, item in enumerate(base):
        j = next((j for j, o in enumerate(other) if j not in used and o == item), None)
        if j is not None:
            matched[i] = j
            used.add(j)

    def identity(item):
        features = tuple(sorted(set(_features(item))))
        return (_kind(item) if _kind(item) in ("feature", "not") else "group", features)

    for i, item in enumerate(base):
        if i in matched:
            continue
        key = identity(item)
        in_base = [k for k, b in enumerate(base) if k not in matched and identity(b) == key]
        in_other = [j for j, o in enumerate(other) if j not in used and identity(o) == key]
        if len(in_base) == 1 and len(in_other) == 1:
            matched[i] = in_other[0]
            used.add(in_other[0])
    for i, item in enumerate(base):
        if i in matched or _kind(item) in ("feature",):
            continue
        j = next((j for j, o in enumerate(other) if j not in used and _kind(o) == _kind(item)), None)
        if j is not None:
            matched[i] = j
            used.add(j)
    return matched


_Removed = object()


def _items_merged(base: list, theirs: list, mine: list, found: _Found, path: list) -> list:
    combined, conflicts = found
    to_theirs, to_mine = _match(base, theirs), _match(base, mine)
    from_mine = {j: i for i, j in to_mine.items()}
    # Each entry: (base index or None, merged condition, conflicts relative to the entry).
    entries: list[tuple[int | None, Any, list]] = []
    for j, item in enumerate(mine):
        i = from_mine.get(j)
        local: _Found = (combined, [])
        if i is None:
            combined.append(Combined(describe(item) + " (added)", "mine"))
            entries.append((None, item, []))
            continue
        if i not in to_theirs:
            if item == base[i]:
                combined.append(Combined(describe(item) + " (removed)", "theirs"))
                continue
            local[1].append(([], describe(base[i]), base[i], None, item))
            entries.append((i, item, local[1]))
            continue
        entries.append((i, _condition(base[i], theirs[to_theirs[i]], item, local, []), local[1]))
    for i, item in enumerate(base):
        if i in to_mine:
            continue
        if i not in to_theirs or theirs[to_theirs[i]] == item:
            combined.append(Combined(describe(item) + " (removed)", "mine" if i in to_theirs else "both"))
            continue
        changed = theirs[to_theirs[i]]
        at = next((n for n, e in enumerate(entries) if e[0] is not None and e[0] > i), len(entries))
        entries.insert(at, (i, changed, [([], describe(item), item, changed, None)]))
    from_theirs = {j: i for i, j in to_theirs.items()}
    added_mine = [e[1] for e in entries if e[0] is None]
    for k, item in enumerate(theirs):
        if k in from_theirs:
            continue
        if item in added_mine:
            combined.append(Combined(describe(item) + " (added)", "both"))
            continue
        combined.append(Combined(describe(item) + " (added)", "theirs"))
        before = [from_theirs[p] for p in range(k) if p in from_theirs]
        at = 0
        if before:
            spots = [n for n, e in enumerate(entries) if e[0] == before[-1]]
            at = spots[0] + 1 if spots else len(entries)
        entries.insert(at, (None, item, []))
    for n, (_, _, local) in enumerate(entries):
        for rel, what, *values in local:
            conflicts.append(([*path, n, *rel], what, *values))
    return [e[1] for e in entries]


# ---- paths and picks ---------------------------------------------------------------------------------------------

def _path_text(segments: list) -> str:
    text = ""
    for s in segments:
        text += f"[{s}]" if isinstance(s, int) else (f".{s}" if text else s)
    return text


def _path_segments(path: str) -> list:
    segments: list = []
    for part in path.split("."):
        name, *indexes = part.split("[")
        segments.append(name)
        segments.extend(int(i.rstrip("]")) for i in indexes)
    return segments


def _set(document, segments: list, value) -> None:
    for s in segments[:-1]:
        document = document[s]
    document[segments[-1]] = value


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _tidy(condition):
    """Drop removed conditions; a group left with one condition is that condition (as structured.py reads it)."""
    kind = _kind(condition)
    if kind == "not":
        return {"not": _tidy(condition["not"])}
    if kind not in _GROUP_KINDS:
        return condition
    key = "of" if kind == "at_least" else kind
    items = [t for t in (_tidy(i) for i in condition[key] if i is not _Removed) if t is not _Removed]
    if not items:
        return _Removed  # every condition of the group was picked away: the group goes too
    if kind != "at_least" and len(items) == 1:
        return items[0]
    return {**condition, key: items}
