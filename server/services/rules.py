"""Editing rule sets: rules, vocabulary, settings, new rule sets, restoring versions.

Every change is checked with the language library against the rule set as it is now (the latest version), saved
in canonical text, and committed with the person's "why" (services/saving.py). A change based on an old version of
the same file is refused with both texts (no lost update); a change that renames or creates is compare-and-swapped
against the exact version it was checked on, and retried when another save slipped in between.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from rules_dsl import (
    CompiledRule,
    RuleError,
    RuleSet,
    Settings,
    Vocabulary,
    compile_rule,
    parse_rule,
    rule_from_json,
    rule_to_json,
    slugify,
)
from rules_dsl.errors import name_key, normalize_name
from rules_dsl.layout import (
    EXAMPLES_FILE,
    ID_WORDS,
    SETTINGS_FILE,
    VOCABULARY_FILE,
    dump_yaml,
    rule_file,
    rule_stem,
)
from rules_dsl.merge import merge_rules
from rules_dsl.ruleset import ruleset_from_files

from ..models import User
from ..store import ANY_HEAD, Change, ConflictError, HeadMoved, InvalidInput, InvalidPath
from .errors import BUSY, Busy, Conflict, Invalid, Malformed, NotFound, invalid_rule
from .saving import Saved, check_why, commit, refused, stale
from .workspace import RULESET_ID, Workspace, file_path, rule_path

RETRIES = 8


@dataclass
class RuleSaved:
    rule: CompiledRule
    saved: Saved
    tests: dict | None = None  # the tests at the saved version (expected.after_save): which fail now


def syntax_from_payload(payload: dict):
    """A rule sent as text ({"text": ...}) or in the structured form ({"rule": {...}})."""
    if not isinstance(payload, dict):
        raise Malformed("Send the rule as {\"text\": \"rule ...\"} or {\"rule\": {...}}.")
    has_text, has_rule = "text" in payload, "rule" in payload
    if has_text == has_rule:
        raise Invalid("Send the rule either as text (\"text\") or in the structured form (\"rule\"), "
                      "not both.", field="text")
    try:
        if has_text:
            if not isinstance(payload["text"], str):
                raise Invalid("The rule's text must be a string.", field="text")
            return parse_rule(payload["text"])
        return rule_from_json(payload["rule"])
    except RuleError as e:
        raise invalid_rule(e) from None


def compile_against(ruleset: RuleSet, syntax, rule_id: str) -> CompiledRule:
    try:
        return compile_rule(syntax, ruleset.vocabulary, ruleset.settings, rule_id)
    except RuleError as e:
        raise invalid_rule(e) from None


def _check_unique_name(ruleset: RuleSet, name: str, rule_id: str | None) -> None:
    key = name_key(name)
    for other in ruleset.rules:
        if other.id != rule_id and name_key(other.name) == key:
            raise Invalid(f"There is already a rule called '{other.name}' in this rule set; choose another "
                          "name (names that differ only in capitals, accents or look-alike letters count "
                          "as the same).",
                          field="name", code="duplicate-name")


class UsedRuleIds:
    """The ids some rule of a rule set ever had up to ``version`` (its history), asked one at a time:
    ``rule_id in used`` costs one ``git rev-list --count`` (cached by the store); a new rule asks once or twice."""

    def __init__(self, ws: Workspace, ruleset: str, version: str):
        self.ws, self.ruleset, self.version = ws, ruleset, version

    def __contains__(self, rule_id) -> bool:
        if not isinstance(rule_id, str):
            return False
        try:
            return self.ws.store.count(rule_path(self.ruleset, rule_id), version=self.version) > 0
        except InvalidPath:
            return False  # a name the store refuses (e.g. CON): the save says so, in plain words


def _new_rule_id(ws: Workspace, ruleset: str, version: str, name: str, taken: list[str]) -> str:
    """An id no rule of this rule set ever had: a new rule named like a deleted one is a new rule, with a history
    and blame of its own (reusing the id showed the old rule's creation and deletion as the new one's)."""
    used, taken = UsedRuleIds(ws, ruleset, version), list(taken)
    while (rule_id := slugify(name, taken=taken)) in used:
        taken.append(rule_id)
    return rule_id


def _retrying(action):
    """Run a check-then-commit step again when another save moved the latest version in between."""
    for _ in range(RETRIES):
        try:
            return action()
        except HeadMoved:
            continue
    raise Busy(BUSY)


def create_rule(ws: Workspace, db: Session, user: User, ruleset: str, payload: dict, why: str) -> RuleSaved:
    """Add a rule, checked against the latest version. A new rule has no base version to conflict with, so the
    commit is compare-and-swapped against the exact head it was checked on; when another save moved the head in
    between, ``still_holds`` decides under the store's lock whether the check still stands (only settings,
    vocabulary, the file name and the rule's name matter), else the whole attempt runs again (``_retrying``, at
    most RETRIES times, then Busy). Invalid with the rule's problems, Invalid for a taken name."""
    why = check_why(why)
    syntax = syntax_from_payload(payload)

    def attempt():
        head = ws.resolve(ruleset, None)
        current = ws.ruleset(ruleset, head)
        _check_unique_name(current, syntax.name, None)
        rule_id = _new_rule_id(ws, ruleset, head, syntax.name, [r.id for r in current.rules])
        compiled = compile_against(current, syntax, rule_id)
        change = Change(rule_path(ruleset, rule_id), (compiled.text + "\n").encode())

        def still_holds(now: str) -> None:
            """Others saved since ``head`` (called under the store's lock): the new rule still goes in as checked
            if the settings and vocabulary are the same, its file name is still free and its name still unique.
            Edits of other rules do not matter, so a busy rule set does not starve the new rule."""
            before, after = ws.files(ruleset, head), ws.files(ruleset, now)
            if any(before.get(name) != after.get(name) for name in (SETTINGS_FILE, VOCABULARY_FILE)) \
                    or rule_file(rule_id) in after:
                raise HeadMoved("The rule set's settings or rules changed; checking again.", now)
            _check_unique_name(ws.ruleset(ruleset, now), syntax.name, None)

        saved = _commit(ws, db, user, "rule.create", ruleset, rule_id, [change], why, expect_head=head,
                        recheck=still_holds, details={"rule_name": compiled.name})
        return RuleSaved(compiled, saved)

    return _with_tests(ws, ruleset, _retrying(attempt))


def _with_tests(ws: Workspace, ruleset: str, result: RuleSaved) -> RuleSaved:
    """The saved rule with what the rule set's tests say at the new version (issue 17: every save shows which
    tests now fail), outside the store's lock."""
    from .expected import after_save  # expected.py imports this module

    result.tests = after_save(ws, ruleset, result.saved.version.id)
    return result


def update_rule(ws: Workspace, db: Session, user: User, ruleset: str, rule_id: str, payload: dict, why: str,
                base: str) -> RuleSaved:
    """Change a rule that the author opened at version ``base``. The store refuses the commit when the rule's file
    changed since ``base`` (Conflict carrying both texts: no lost update); edits of other rules since ``base`` do
    not conflict. NotFound when the rule is not in ``base``; Invalid "no-change" when nothing changed."""
    why = check_why(why)
    syntax = syntax_from_payload(payload)
    base = ws.resolve(ruleset, base)
    if ws.rule_text(ruleset, rule_id, base) is None:
        raise NotFound(f"There is no rule '{rule_id}' in the version you edited.")

    def attempt():
        head = ws.resolve(ruleset, None)
        current = ws.ruleset(ruleset, head)
        old = next((r for r in current.rules if r.id == rule_id), None)
        if old is None:
            raise refused(db, user, "rule.update", Conflict(
                "This rule was deleted since you opened it. Copy your text and create it again if it is still "
                "needed.", base_text=ws.rule_text(ruleset, rule_id, base), current_text=None, current_version=head),
                reason="stale", ruleset=ruleset, rule=rule_id, message=why,
                details={"based_on": base, "current": head, "rule_name": syntax.name})
        renamed = normalize_name(old.name) != normalize_name(syntax.name)
        if renamed:
            _check_unique_name(current, syntax.name, rule_id)
        compiled = compile_against(current, syntax, rule_id)
        if compiled.text == old.text:
            raise Invalid("Nothing changed: the rule is the same as the saved one.", code="no-change")
        action = "rule.rename" if renamed else ("rule.disable" if old.enabled and not compiled.enabled else
                                                "rule.enable" if compiled.enabled and not old.enabled else
                                                "rule.update")
        change = Change(rule_path(ruleset, rule_id), (compiled.text + "\n").encode())
        names = {"rule_name": compiled.name, **({"renamed_from": old.name} if renamed else {})}
        try:
            saved = _commit(ws, db, user, action, ruleset, rule_id, [change], why, base=base,
                            conflict_paths=[change.path], expect_head=head if renamed else ANY_HEAD, details=names)
        except Conflict as conflict:
            raise _with_merge(conflict, syntax) from None
        return RuleSaved(compiled, saved)

    return _with_tests(ws, ruleset, _retrying(attempt))


def _with_merge(conflict: Conflict, mine) -> Conflict:
    """Add to a stale save's conflict the structured forms of both saved versions and the three-way merge with
    the author's own (rules_dsl/merge.py), so the editor combines changes condition by condition and stays in
    the form. Left out when a saved text no longer reads as a rule (the texts are there all the same)."""
    base_text, current_text = conflict.details.get("base_text"), conflict.details.get("current_text")
    if base_text is None or current_text is None:
        return conflict
    try:
        base, theirs = rule_to_json(parse_rule(base_text)), rule_to_json(parse_rule(current_text))
    except RuleError:
        return conflict
    conflict.details.update(base_structured=base, current_structured=theirs,
                            merge=merge_rules(base, theirs, rule_to_json(mine)).to_dict())
    return conflict


def delete_rule(ws: Workspace, db: Session, user: User, ruleset: str, rule_id: str, why: str, base: str) -> Saved:
    why = check_why(why)
    base = ws.resolve(ruleset, base)
    if ws.rule_text(ruleset, rule_id, base) is None:
        raise NotFound(f"There is no rule '{rule_id}' in the version you opened.")
    path = rule_path(ruleset, rule_id)
    return _commit(ws, db, user, "rule.delete", ruleset, rule_id, [Change(path, None)], why, base=base,
                   conflict_paths=[path], details={"rule_name": ws.rule_name(ruleset, rule_id, base)})


def _commit(ws: Workspace, db: Session, user: User, action: str, ruleset: str, rule: str | None, changes, why,
            base=None, conflict_paths=(), expect_head=ANY_HEAD, recheck=None, details=None) -> Saved:
    """``expect_head``: the version the change was checked on (None: the workspace was empty), or
    ``ANY_HEAD`` when only ``conflict_paths`` matter. ``HeadMoved`` passes through for ``_retrying``;
    the store's other errors that no LIBRARY entry says well enough become domain errors here."""
    kwargs = {} if expect_head is ANY_HEAD else {"expect_head": expect_head, "recheck": recheck}
    try:
        return commit(db, ws.store, user, action=action, ruleset=ruleset, rule=rule, changes=changes, why=why,
                      base=base, conflict_paths=conflict_paths, details=details, **kwargs)
    except ConflictError as e:
        raise stale(e) from None
    except InvalidPath:
        raise Invalid("That name cannot be used here.") from None
    except InvalidInput as e:  # a save refused for what it holds, not a name that led nowhere (LIBRARY's 404)
        raise Invalid(e.message) from None


# ---- vocabulary, settings, rule sets -----------------------------------------------------------------------------

def _dump(data) -> bytes:
    return dump_yaml(data).encode()


def _recheck(files: dict[str, bytes], ruleset: str, memo: dict | None = None) -> RuleSet:
    """The rule set as it would be after a change; every rule must still check clean. ``memo``: the workspace's
    (Workspace.compiled_memo), so that rules whose bytes did not change are not compiled again."""
    try:
        return ruleset_from_files(files, id=ruleset, memo=memo)
    except RuleError as e:
        broken = sorted({rule_stem(p.file) for p in e.errors if p.file and rule_stem(p.file) is not None})
        if broken:
            names = ", ".join(f"“{_name_in(files.get(rule_file(stem)), stem)}”" for stem in broken)
            raise Invalid(f"This change would break {len(broken)} rule(s): {names}. Change or "
                          "delete those rules first, then make this change.",
                          problems=[p.to_dict() for p in e.problems], code="breaks-rules") from None
        raise invalid_rule(e) from None


def _name_in(text: bytes | None, rule_id: str) -> str:
    """A rule's name from its file (people know rules by their names; the id is a file name), else its id."""
    try:
        return parse_rule(text.decode("utf-8")).name if text is not None else rule_id
    except (RuleError, UnicodeDecodeError):
        return rule_id


def update_vocabulary(ws: Workspace, db: Session, user: User, ruleset: str, data, why: str, base: str) -> Saved:
    return _update_yaml(ws, db, user, ruleset, VOCABULARY_FILE, "vocabulary.update", why, base,
                        lambda: Vocabulary.from_dict(data, file=VOCABULARY_FILE).to_dict())


def update_settings(ws: Workspace, db: Session, user: User, ruleset: str, data, why: str, base: str) -> Saved:
    """A body without "gate" (or "shadow keeps values") keeps it as it is (forms that do not show it must not drop
    it); "gate": null removes the gate."""
    def build():
        settings = Settings.from_dict(data, file=SETTINGS_FILE).to_dict()
        if isinstance(data, dict):
            current = ws.ruleset(ruleset, ws.resolve(ruleset, None)).settings
            if "gate" not in data and current.gate is not None:
                settings["gate"] = current.gate.to_dict()
            if "shadow keeps values" not in data and current.shadow_keeps_values:
                settings["shadow keeps values"] = True
        return settings

    return _update_yaml(ws, db, user, ruleset, SETTINGS_FILE, "settings.update", why, base, build)


def _update_yaml(ws, db, user, ruleset, name, action, why, base, build) -> Saved:
    why = check_why(why)
    base = ws.resolve(ruleset, base)
    try:
        content = _dump(build())
    except RuleError as e:
        raise invalid_rule(e) from None

    def attempt():
        head = ws.resolve(ruleset, None)
        files = dict(ws.files(ruleset, head))
        if files.get(name) == content:
            raise Invalid("Nothing changed.", code="no-change")
        files[name] = content
        _recheck(files, ruleset)
        path = file_path(ruleset, name)
        return _commit(ws, db, user, action, ruleset, None, [Change(path, content)], why, base=base,
                       conflict_paths=[path], expect_head=head)

    return _retrying(attempt)


def create_ruleset(ws: Workspace, db: Session, user: User, settings_data, vocabulary_data, why: str,
                   examples_csv: bytes | None = None, ruleset_id: str | None = None) -> tuple[str, Saved]:
    """A new rule set with its settings and vocabulary and no rules. Its id is ``ruleset_id`` when given (the
    editor lets people edit the one derived from the title), else derived from the title. Refused (422, code
    "duplicate-name") when a rule set has that title or that id."""
    why = check_why(why)
    if ruleset_id is not None and (not isinstance(ruleset_id, str) or not RULESET_ID.fullmatch(ruleset_id)):
        raise Invalid(f"The id is what appears in addresses: {ID_WORDS} (for example: breast-mass-triage).",
                      field="id")
    try:
        settings = Settings.from_dict(settings_data)
        vocabulary = Vocabulary.from_dict(vocabulary_data or {"features": {}})
    except RuleError as e:
        raise invalid_rule(e) from None
    files = {SETTINGS_FILE: _dump(settings.to_dict()), VOCABULARY_FILE: _dump(vocabulary.to_dict())}
    if examples_csv:
        files[EXAMPLES_FILE] = examples_csv
    _recheck(files, "new")

    def attempt():
        head = ws.head()
        taken = ws.ruleset_ids(head) if head else []
        if any(name_key(ws.ruleset(r, head).title) == name_key(settings.title) for r in taken):
            raise Invalid(f"There is already a rule set called '{settings.title}'.", field="title",
                          code="duplicate-name")
        if ruleset_id in taken:
            raise Invalid(f"There is already a rule set with the id '{ruleset_id}'. Choose another id.",
                          field="id", code="duplicate-name")
        ruleset = ruleset_id or slugify(settings.title, taken=taken, fallback="ruleset")
        changes = [Change(file_path(ruleset, n), c) for n, c in files.items()]
        saved = _commit(ws, db, user, "ruleset.create", ruleset, None, changes, why, expect_head=head)
        return ruleset, saved

    return _retrying(attempt)


def import_ruleset(ws: Workspace, db: Session, user: User, source: RuleSet, why: str,
                   name: str | None = None, other_files: dict[str, bytes] | None = None) -> tuple[str, Saved]:
    """A whole rule set (from a bundle or a folder) as one new version of a new rule set, called ``name`` (by
    default the folder's name, or the title). Refused (422, code "duplicate-name") when a rule set of that name
    exists: importing a folder again silently made a second copy ('sepsis-triage-2') that nobody asked for.
    ``other_files``: more files of the folder, kept as they are (a workbook's tests.csv and notes)."""
    why = check_why(why)
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise Invalid("Give the imported rule set a name.", field="name")
    ruleset = slugify(name or source.id or source.title, fallback="ruleset")

    def attempt():
        head = ws.head()
        taken = ws.ruleset_ids(head) if head else []
        if ruleset in taken:
            raise Invalid(f"There is already a rule set '{ruleset}'. Give the imported one another name, or "
                          "save the changes to the existing rule set as new versions.", field="name",
                          code="duplicate-name")
        changes = [Change(file_path(ruleset, SETTINGS_FILE), _dump(source.settings.to_dict())),
                   Change(file_path(ruleset, VOCABULARY_FILE), _dump(source.vocabulary.to_dict()))]
        changes += [Change(rule_path(ruleset, r.id), (r.text + "\n").encode()) for r in source.rules]
        if source.examples is not None:
            changes.append(Change(file_path(ruleset, EXAMPLES_FILE), source.examples.to_csv(index=False).encode()))
        known = {SETTINGS_FILE, VOCABULARY_FILE, EXAMPLES_FILE}
        changes += [Change(file_path(ruleset, n), c) for n, c in sorted((other_files or {}).items())
                    if n not in known and rule_stem(n) is None]
        saved = _commit(ws, db, user, "ruleset.import", ruleset, None, changes, why, expect_head=head)
        return ruleset, saved

    return _retrying(attempt)


def restore(ws: Workspace, db: Session, user: User, ruleset: str, version: str, why: str,
            rule_id: str | None = None) -> Saved:
    """Make an earlier version current again, as a new version (history is never rewritten).

    With ``rule_id`` only that rule comes back (checked against today's vocabulary); otherwise the whole rule set.
    """
    why = check_why(why)
    if not isinstance(version, str) or not version:
        raise Invalid("Say which version to bring back (a release name or a version id).", field="version")
    if rule_id is not None and not isinstance(rule_id, str):
        raise Invalid("'rule' is the id of one rule.", field="rule")
    old = ws.resolve(ruleset, version)

    def attempt():
        head = ws.resolve(ruleset, None)
        now_files = ws.files(ruleset, head)
        try:
            then_files = ws.files(ruleset, old)
        except NotFound:
            raise NotFound("This rule set did not exist in that version.") from None
        if rule_id is not None:
            name = rule_file(rule_id)
            if name not in then_files:
                raise NotFound(f"The rule '{rule_id}' did not exist in that version.")
            files = dict(now_files)
            files[name] = then_files[name]
            current = _recheck(files, ruleset)
            _check_unique_name(current, current.rule(rule_id).name, rule_id)
            changes = [Change(file_path(ruleset, name), then_files[name])]
        else:
            changes = [Change(file_path(ruleset, n), c) for n, c in then_files.items() if now_files.get(n) != c]
            changes += [Change(file_path(ruleset, n), None) for n in now_files if n not in then_files]
        if not changes:
            raise Invalid("That version is the same as the current one; nothing to restore.", code="no-change")
        return _commit(ws, db, user, "version.restore", ruleset, rule_id, changes, why, expect_head=head,
                       details={"restored": old})

    return _retrying(attempt)
