"""Text -> syntax tree, with errors a non-programmer can act on.

The grammar lives in ``grammar.lark`` and is loaded once (LALR, contextual lexer). The parse runs through Lark's
interactive parser so that, when it fails, we know the token before the failure and can say "Expected a number
after 'is above'" rather than list terminal names. Input is bounded (size, nesting depth, node count) before anything
recursive touches it.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from lark import Lark, Token, Transformer_NonRecursive, Tree, v_args
from lark.exceptions import UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from .errors import Problem, RuleError, invisible_character
from .syntax import AllOf, AnyOf, AtLeast, Comparison, Conclusion, Flag, Not, Quantity, Rule, Span, Text, children

MAX_RULE_BYTES = 8 * 1024
MAX_DEPTH = 64
MAX_NODES = 4000
MAX_SIGNIFICANT_DIGITS = 15  # what a float64 holds exactly, so JSON and text forms round-trip

# Characters no rule may hold: control characters other than tab and line breaks (invisible, and some break files
# or terminals), and lone surrogates (not encodable as UTF-8, so the rule could not be saved).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
CONTROL_MESSAGE = "There is an invisible control character here. Delete it (retyping the line is the easiest way)."


@lru_cache(maxsize=1)
def lark_parser() -> Lark:
    return Lark.open("grammar.lark", rel_to=__file__, parser="lalr", lexer="contextual",
                     propagate_positions=True, maybe_placeholders=False)


def parse_rule(text: str | bytes) -> Rule:
    """Parse one rule. Raises RuleError (never anything else) when the text is not a rule."""
    text = _as_text(text)
    tree = _parse_tree(text)
    try:
        rule = _ToSyntax().transform(tree)
    except VisitError as e:  # a value the grammar lets through but the language refuses (e.g. too many digits)
        if isinstance(e.orig_exc, RuleError):
            raise e.orig_exc from None
        raise
    check_limits(rule.condition)
    return rule


def _as_text(text: str | bytes) -> str:
    if isinstance(text, bytes):
        if len(text) > MAX_RULE_BYTES:
            raise _too_long(len(text))
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise RuleError(Problem("not-text", f"The rule is not readable text (byte {e.start + 1} is not UTF-8). "
                                    "Paste it again as plain text.")) from None
    if not isinstance(text, str):
        raise RuleError(Problem("not-text", "A rule must be given as text."))
    if text.startswith("\ufeff"):  # the byte-order mark some editors (Windows Notepad) put first: not content
        text = text[1:]
    if "\r" in text:  # Windows and old Mac line ends: one line end, so positions match what editors show
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_RULE_BYTES:
        raise _too_long(len(text.encode("utf-8", "surrogatepass")))
    bad = _SURROGATE.search(text)
    if bad:
        raise RuleError(_problem_at(text, bad.start(), "not-text", "The rule is not readable text (it holds a broken "
                                    "character here). Paste it again as plain text."))
    bad = _CONTROL.search(text)
    if bad:
        raise RuleError(_problem_at(text, bad.start(), "control-character", CONTROL_MESSAGE))
    if not text.strip():
        raise RuleError(Problem("empty", 'The rule is empty. Start with its name, for example: rule "High fever"',
                                line=1, column=1, end_line=1, end_column=1))
    return text


def _problem_at(text: str, index: int, code: str, message: str) -> Problem:
    """A problem about the one character at ``index`` of ``text``."""
    line = text.count("\n", 0, index) + 1
    column = index - text.rfind("\n", 0, index)
    return Problem(code, message, line=line, column=column, end_line=line, end_column=column + 1)


def find_control_character(text: str) -> int | None:
    """Where ``text`` holds a character no rule may hold (see _CONTROL and _SURROGATE), or None."""
    bad = _SURROGATE.search(text) or _CONTROL.search(text)
    return bad.start() if bad else None


def _too_long(size: int) -> RuleError:
    return RuleError(Problem(
        "too-long", f"The rule is too long ({size:,} bytes; the limit is {MAX_RULE_BYTES:,}). "
        "Split it into several smaller rules."))


def check_limits(condition) -> None:
    """Refuse trees too deep or too large to handle safely, without recursion."""
    stack = [(condition, 1)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            raise RuleError(Problem.at(getattr(node, "span", None), "too-deep",
                                       f"The conditions are nested too deeply (more than {MAX_DEPTH} levels). "
                                       "Remove some parentheses or split the rule."))
        if nodes > MAX_NODES:
            raise RuleError(Problem("too-large", f"The rule has too many conditions (more than {MAX_NODES:,}). "
                                    "Split it into several smaller rules."))
        stack.extend((child, depth + 1) for child in children(node))


# ---- syntax errors -----------------------------------------------------------------------------------------------

def _parse_tree(text: str) -> Tree:
    try:  # the plain parser first: 7% faster than stepping through tokens (docs/benchmarks.md)
        return lark_parser().parse(text)
    except UnexpectedInput:
        pass  # parsed again below, keeping the tokens that the error message needs
    interactive = lark_parser().parse_interactive(text)
    tokens: list[Token] = []
    try:
        for token in interactive.iter_parse():
            tokens.append(token)
        return interactive.feed_eof(tokens[-1] if tokens else None)
    except UnexpectedInput as e:
        # iter_parse yields a token before feeding it: when the parser refuses one, it is the last one seen.
        refused = isinstance(e, UnexpectedToken) and tokens and e.token is tokens[-1]
        accepted = tokens[:-1] if refused else tokens
        raise RuleError(_syntax_problem(text, e, accepted)) from None


def _acceptable_after(tokens: list[Token]) -> set[str]:
    """The terminals the grammar accepts after these tokens.

    Asked of a fresh parser fed the accepted tokens: the failing parser has already made the reductions that LALR
    makes before it notices an error, and its own list of expected terminals mixes in merged states.
    """
    interactive = lark_parser().parse_interactive("")
    for token in tokens:
        interactive.feed_token(token)
    return set(interactive.accepts())


_FLAG_LIST_MESSAGE = "yes / no cannot be put in a list; write: {feature} is yes (or {feature} is no)"
_NUMERIC_OPS = {"ABOVE", "BELOW", "AT_LEAST", "AT_MOST"}
_OPERATORS = {"IS", "IS_NOT", "ABOVE", "BELOW", "AT_LEAST", "AT_MOST", "BETWEEN", "ONE_OF", "NOT_ONE_OF",
              "CONTAINS", "NOT_CONTAINS", "MISSING", "KNOWN"}
_CONDITION_START = {"NAME", "NOT", "LPAR", "AT_LEAST"}
_EXAMPLE_CONDITION = "temperature is above 38"


def _syntax_problem(text: str, e: UnexpectedInput, accepted: list[Token]) -> Problem:
    expected = _acceptable_after(accepted)
    if isinstance(e, UnexpectedToken) and e.token.type == "$END" or isinstance(e, UnexpectedEOF):
        line, column = _end_position(text)
        found, span = None, Span(line, column, line, column)
    elif isinstance(e, UnexpectedToken):
        found, span = e.token.value, Span(e.token.line, e.token.column, e.token.end_line, e.token.end_column)
    else:
        word = re.match(r"\S{1,40}", text[e.pos_in_stream:]) or re.match(r".", text[e.pos_in_stream:], re.S)
        found = word.group(0)
        span = Span(e.line, e.column, e.line, e.column + len(found))
    before = accepted[-1] if accepted else None
    later_line = found is not None and before is not None and span.line > before.end_line
    if found is not None and before is not None and before.type == "UNIT":
        # "x is 1 y is 2": the word after the number was read as its unit; that word is where the problem is
        span = _span(before)
    message = _message(expected, accepted, found, later_line)
    if isinstance(message, _Missing) and before is not None:
        # Something is missing after the word before: point just after that word, where it goes, not at the next
        # word (which may be the 'then' of the next line); on the same line, the word written instead is included.
        end = (span.end_line, span.end_column) if found is not None and not later_line else \
            (before.end_line, before.end_column)
        span = Span(before.end_line, before.end_column, *end)
    return Problem("syntax", message, line=span.line, column=span.column, end_line=span.end_line,
                   end_column=span.end_column)


class _Missing(str):
    """A message saying what is missing after the previous word ("Expected a number after 'is above'")."""


def _end_position(text: str) -> tuple[int, int]:
    stripped = text.rstrip()
    lines = stripped.split("\n")
    return len(lines), len(lines[-1]) + 1


def _said(token: Token | None) -> str:
    return " ".join(str(token).split()).lower() if token is not None else ""


@dataclass(frozen=True)
class _Place:
    """Where the parse stopped: what the grammar accepts there, the tokens read before, and the word found instead
    (None at the end of the text). ``later_line``: that word starts on a later line (it begins the next part,
    such as 'then')."""

    expected: frozenset[str]
    accepted: tuple[Token, ...]
    found: str | None
    later_line: bool = False

    @property
    def before(self) -> Token | None:
        return self.accepted[-1] if self.accepted else None

    @property
    def prev(self) -> str | None:
        """The type of the token before, such as 'IS' or 'NAME'."""
        return self.before.type if self.accepted else None

    @property
    def said(self) -> str:
        """The word before, as written (lower case, spaces collapsed)."""
        return _said(self.before)

    @property
    def word(self) -> str:
        """The word before, as written, lower case only."""
        return str(self.before).lower() if self.accepted else ""

    @property
    def counting(self) -> bool:
        """'at least' begins a count ('at least 2 of (...)'), not a comparison ('age is at least 65')."""
        return self.prev == "AT_LEAST" and (len(self.accepted) < 2 or self.accepted[-2].type != "NAME")


@dataclass(frozen=True)
class SyntaxMessage:
    """One entry of the table of syntax errors: in which situation, what is said, and a rule that shows it.

    ``missing``: the message says what is missing after the previous word, so it points just after that word.
    ``example`` is a rule that gets exactly ``says`` (tests/rules_dsl/test_errors.py checks every entry).
    """

    situation: str
    applies: Callable[[_Place], bool]
    message: Callable[[_Place], str]
    example: str
    says: str
    missing: bool = False


def _entry(situation, applies, message, example, says, missing=False) -> SyntaxMessage:
    return SyntaxMessage(situation, applies, message if callable(message) else lambda p, m=message: m, example, says,
                         missing)


_BEFORE_CONDITION = {"WHEN", "_AND", "_OR", "NOT", "LPAR", "COMMA", None, "_OF"}
_AS_WRITTEN = {"_AND": "and", "_OR": "or", "NOT": "not", "LPAR": "(", "COMMA": ","}
_AFTER_CONDITION = {"_AND", "_OR", "THEN", "BECAUSE", "$END"}
_RULE_ONLY_ONCE = "Only one rule can be written here. Save this rule first, then add the next one."
_WHEN_ONLY_ONCE = "'when' is written only once; join further conditions with 'and' or 'or'."
_RULE = 'rule "Fever"\n'
_THEN = '\nthen risk is "high"'

# The first entry that applies gives the message; the order matters where situations overlap. (The chain of
# conditions this table replaced also had "Put the outcome label in quotes" for 'then risk is high': never reached,
# since after 'is' the entry "a word without quotes after 'is'" applies first.)
SYNTAX_MESSAGES: tuple[SyntaxMessage, ...] = (
    _entry("an invisible control character where a word was expected",
           lambda p: bool(p.found) and not p.found[:1].isprintable() and not p.found[:1].isspace(),
           CONTROL_MESSAGE, _RULE + "when age\u200b is above 65" + _THEN, CONTROL_MESSAGE),
    _entry("yes / no inside a list of values",
           lambda p: (p.prev in {"YES", "NO"} and len(p.accepted) > 1
                      and p.accepted[-2].type in {"ONE_OF", "NOT_ONE_OF"}),
           lambda p: _FLAG_LIST_MESSAGE.format(feature=str(p.accepted[-3]) if len(p.accepted) > 2 else "smoker"),
           _RULE + "when smoker is one of yes, no" + _THEN,
           "yes / no cannot be put in a list; write: smoker is yes (or smoker is no)"),
    _entry("a second 'rule' after a number (read as the number's unit)",
           lambda p: p.prev == "UNIT" and p.found is not None and p.word == "rule",
           _RULE_ONLY_ONCE, _RULE + 'when age is above 65\nrule "Other"\nwhen age is above 3' + _THEN,
           _RULE_ONLY_ONCE),
    _entry("a second 'when' after a number (read as the number's unit)",
           lambda p: p.prev == "UNIT" and p.found is not None and p.word in {"when", "if"},
           _WHEN_ONLY_ONCE, _RULE + "when age is above 65 when smoker is yes" + _THEN, _WHEN_ONLY_ONCE),
    _entry("two conditions with no 'and' / 'or' between them, the first ending in a number",
           lambda p: p.prev == "UNIT" and p.found is not None,
           lambda p: (f"'and' or 'or' seems to be missing before '{p.before}'. "
                      "Join conditions with 'and' or 'or', for example: age is above 65 and smoker is yes"),
           _RULE + "when age is above 65 smoker is yes" + _THEN,
           "'and' or 'or' seems to be missing before 'smoker'. Join conditions with 'and' or 'or', for example: "
           "age is above 65 and smoker is yes"),
    _entry("a text value with no closing quote",
           lambda p: p.found is not None and p.found.startswith(('"', "“")) and "STRING" in p.expected,
           "This text has no closing quote. Add \" at the end of it.",
           _RULE + 'when colour is "dark' + _THEN, "This text has no closing quote. Add \" at the end of it."),
    _entry("a text that does not start with 'rule'",
           lambda p: "RULE" in p.expected and p.prev is None,
           'A rule starts with the word "rule" and its name in quotes, for example: rule "High fever"',
           "when age is above 65" + _THEN,
           'A rule starts with the word "rule" and its name in quotes, for example: rule "High fever"'),
    _entry("no name after 'rule'",
           lambda p: p.prev == "RULE",
           'Give the rule a name in quotes after "rule", for example: rule "High fever"',
           "rule Fever\nwhen age is above 65" + _THEN,
           'Give the rule a name in quotes after "rule", for example: rule "High fever"', missing=True),
    _entry("no number after 'priority'",
           lambda p: p.prev == "PRIORITY",
           "Expected a whole number after 'priority', for example: priority 2 (higher numbers are tried first)",
           'rule "Fever" priority high\nwhen age is above 65' + _THEN,
           "Expected a whole number after 'priority', for example: priority 2 (higher numbers are tried first)",
           missing=True),
    _entry("no 'when' after the rule's name",
           lambda p: "WHEN" in p.expected and p.prev in {"STRING", "NUMBER", "DISABLED"} and "NAME" not in p.expected,
           "Expected 'when' followed by the conditions, for example: when " + _EXAMPLE_CONDITION,
           'rule "Fever"\nage is above 65' + _THEN,
           "Expected 'when' followed by the conditions, for example: when temperature is above 38"),
    _entry("no count after 'at least' that begins a count",
           lambda p: p.counting and "NUMBER" in p.expected,
           lambda p: f"Expected how many after '{p.said}', for example: at least 2 of (fever, cough, fatigue)",
           _RULE + "when at least of (fever is yes, cough is yes)" + _THEN,
           "Expected how many after 'at least', for example: at least 2 of (fever, cough, fatigue)", missing=True),
    _entry("no number after a comparison of numbers",
           lambda p: p.prev in _NUMERIC_OPS and "NUMBER" in p.expected,
           lambda p: f"Expected a number after '{p.said}', for example: {p.said} 38",
           _RULE + "when temperature is above" + _THEN,
           "Expected a number after 'is above', for example: is above 38", missing=True),
    _entry("no number after 'is between'",
           lambda p: p.prev == "BETWEEN",
           lambda p: f"Expected a number after '{p.said}', for example: {p.said} 2 and 5",
           _RULE + "when age is between" + _THEN,
           "Expected a number after 'is between', for example: is between 2 and 5", missing=True),
    _entry("no 'and' and upper limit after 'is between' and a number",
           lambda p: "_AND" in p.expected and not (p.expected & {"_OR", "THEN"}),
           "Expected 'and' and the upper limit, for example: is between 2 and 5",
           _RULE + "when age is between 2" + _THEN,
           "Expected 'and' and the upper limit, for example: is between 2 and 5", missing=True),
    _entry("no list after 'is one of'",
           lambda p: p.prev in {"ONE_OF", "NOT_ONE_OF"},
           lambda p: (f"Expected a list of values after '{p.said}', separated by commas, for example: "
                      f'{p.said} "margin", "border"'),
           _RULE + "when site is one of" + _THEN,
           'Expected a list of values after \'is one of\', separated by commas, for example: is one of "margin", '
           '"border"', missing=True),
    _entry("a word without quotes after 'is' on the same line",
           lambda p: (p.prev in {"IS", "IS_NOT"} and bool({"STRING", "NUMBER"} & p.expected) and bool(p.found)
                      and not p.later_line and re.match(r"[^\W\d]", p.found) is not None),
           lambda p: (f"Put text values in quotes, for example: {p.said} \"{p.found.strip(',')}\" "
                      "(or use yes / no, or a number)"),
           _RULE + "when colour is dark" + _THEN,
           'Put text values in quotes, for example: is "dark" (or use yes / no, or a number)'),
    _entry("no value after 'is'",
           lambda p: p.prev in {"IS", "IS_NOT"} and bool({"STRING", "NUMBER"} & p.expected),
           lambda p: (f"Expected a value after '{p.said}': a number, yes / no, or text in quotes, for example: "
                      f'{p.said} "dark"'),
           _RULE + "when colour is" + _THEN,
           'Expected a value after \'is\': a number, yes / no, or text in quotes, for example: is "dark"',
           missing=True),
    _entry("no text after 'contains'",
           lambda p: p.prev in {"CONTAINS", "NOT_CONTAINS"},
           lambda p: f'Expected text in quotes after \'{p.said}\', for example: {p.said} "biopsy"',
           _RULE + "when notes contains" + _THEN,
           'Expected text in quotes after \'contains\', for example: contains "biopsy"', missing=True),
    _entry("no 'is' after the outcome's name",
           lambda p: p.prev == "NAME" and p.expected == {"IS"},
           lambda p: f'Expected \'is\' and a label in quotes, for example: then {p.before} is "high"',
           _RULE + 'when age is above 65\nthen risk "high"',
           'Expected \'is\' and a label in quotes, for example: then risk is "high"', missing=True),
    _entry("no comparison after a feature's name",
           lambda p: bool(p.expected & _OPERATORS) and p.prev == "NAME",
           lambda p: (f"After '{p.before}' I expected a comparison such as 'is', 'is above', 'is below', "
                      "'is between', 'is one of' or 'is missing'" + (f", not '{p.found}'" if p.found else "") + "."),
           _RULE + "when age 65" + _THEN,
           "After 'age' I expected a comparison such as 'is', 'is above', 'is below', 'is between', 'is one of' "
           "or 'is missing', not '65'.", missing=True),
    _entry("no outcome after 'then'",
           lambda p: p.prev == "THEN",
           'Expected the outcome after \'then\', for example: then risk is "high"',
           _RULE + "when age is above 65\nthen",
           'Expected the outcome after \'then\', for example: then risk is "high"', missing=True),
    _entry("no 'confidence' after 'with'",
           lambda p: p.prev == "WITH",
           "Expected 'confidence' after 'with', for example: with confidence 0.8",
           _RULE + "when age is above 65" + _THEN + " with 0.8",
           "Expected 'confidence' after 'with', for example: with confidence 0.8", missing=True),
    _entry("no number after 'with confidence'",
           lambda p: p.prev == "CONFIDENCE",
           "Expected a number between 0 and 1 after 'with confidence', for example: with confidence 0.8",
           _RULE + "when age is above 65" + _THEN + " with confidence high",
           "Expected a number between 0 and 1 after 'with confidence', for example: with confidence 0.8",
           missing=True),
    _entry("no quoted reason after 'because'",
           lambda p: p.prev == "BECAUSE",
           'Put the reason in quotes after \'because\', for example: because "Guideline 4.2"',
           _RULE + "when age is above 65" + _THEN + "\nbecause guideline",
           'Put the reason in quotes after \'because\', for example: because "Guideline 4.2"', missing=True),
    _entry("no 'of' after the count of 'at least'",
           lambda p: "_OF" in p.expected,
           lambda p: f"Expected 'of' after '{p.said}', for example: at least 2 of (...)",
           _RULE + "when at least 2 (fever is yes, cough is yes)" + _THEN,
           "Expected 'of' after '2', for example: at least 2 of (...)", missing=True),
    _entry("no parenthesis after 'at least 2 of'",
           lambda p: "LPAR" in p.expected and p.prev == "_OF",
           "Expected the list of conditions in parentheses, for example: at least 2 of (a is yes, b is yes)",
           _RULE + "when at least 2 of fever is yes" + _THEN,
           "Expected the list of conditions in parentheses, for example: at least 2 of (a is yes, b is yes)"),
    _entry("a number where a condition should start",
           lambda p: (bool(p.expected & _CONDITION_START) and p.prev in _BEFORE_CONDITION and bool(p.found)
                      and p.found[:1].isdigit()),
           f"A condition starts with a feature name, not a number, for example: {_EXAMPLE_CONDITION}",
           _RULE + "when 65 is below age" + _THEN,
           "A condition starts with a feature name, not a number, for example: temperature is above 38"),
    _entry("no condition after 'when', 'and', 'or', 'not', '(' or ','",
           lambda p: bool(p.expected & _CONDITION_START) and p.prev in _BEFORE_CONDITION,
           lambda p: (f"Expected a condition after '{_AS_WRITTEN.get(p.prev, p.said)}', for example: "
                      f"{_EXAMPLE_CONDITION}"),
           _RULE + "when age is above 65 and" + _THEN,
           "Expected a condition after 'and', for example: temperature is above 38", missing=True),
    _entry("a '(' never closed, at the end of the text",
           lambda p: p.found is None and "RPAR" in p.expected,
           "A '(' is never closed. Add ')' at the end of the group.",
           _RULE + "when (age is above 65",
           "A '(' is never closed. Add ')' at the end of the group."),
    _entry("the text ends in the middle of the rule",
           lambda p: p.found is None,
           lambda p: (f"The rule ends too early after '{p.said}'. Finish the condition, for example: "
                      f"{_EXAMPLE_CONDITION}"),
           _RULE + "when age is between 60 and",
           "The rule ends too early after 'and'. Finish the condition, for example: temperature is above 38",
           missing=True),
    _entry("a stray word inside a group",
           lambda p: "RPAR" in p.expected and bool(p.found) and not (p.expected & {"THEN", "$END"}),
           lambda p: f"Expected ')' to close the group, or 'and' / 'or' to add a condition, not '{p.found}'.",
           _RULE + 'when (colour is "dark" smoker is yes)' + _THEN,
           "Expected ')' to close the group, or 'and' / 'or' to add a condition, not 'smoker'."),
    _entry("a second 'when' after a complete condition",
           lambda p: bool(_AFTER_CONDITION & p.expected) and bool(p.found) and p.found.lower() in {"when", "if"},
           _WHEN_ONLY_ONCE, _RULE + 'when colour is "dark" when smoker is yes' + _THEN, _WHEN_ONLY_ONCE),
    _entry("a second rule after a complete rule",
           lambda p: bool(_AFTER_CONDITION & p.expected) and bool(p.found) and p.found.lower() == "rule",
           _RULE_ONLY_ONCE, _RULE + 'when colour is "dark"' + _THEN + '\nrule "Other"', _RULE_ONLY_ONCE),
    _entry("a stray word after a condition",
           lambda p: bool(_AFTER_CONDITION & p.expected) and "THEN" in p.expected,
           lambda p: (f"Expected 'and' or 'or' to join another condition, or 'then' for the conclusion, "
                      f"not '{p.found}'."),
           _RULE + 'when colour is "dark" smoker is yes' + _THEN,
           "Expected 'and' or 'or' to join another condition, or 'then' for the conclusion, not 'smoker'."),
    _entry("a stray word after the end of the rule",
           lambda p: bool(_AFTER_CONDITION & p.expected),
           lambda p: f"Unexpected '{p.found}' after the end of the rule.",
           _RULE + "when age is above 65" + _THEN + ' because "x" extra',
           "Unexpected 'extra' after the end of the rule."),
)


def _message(expected: set[str], accepted: list[Token], found: str | None, later_line: bool = False) -> str:
    """What is wrong, in words: the first entry of SYNTAX_MESSAGES that applies; a ``_Missing`` message when
    something is missing after the previous word."""
    place = _Place(frozenset(expected), tuple(accepted), found, later_line)
    for entry in SYNTAX_MESSAGES:
        if entry.applies(place):
            message = entry.message(place)
            return _Missing(message) if entry.missing else message
    return f"Unexpected '{found}' here."


# ---- tree -> syntax ----------------------------------------------------------------------------------------------

def _span(meta_or_token) -> Span | None:
    try:
        return Span(meta_or_token.line, meta_or_token.column, meta_or_token.end_line, meta_or_token.end_column)
    except AttributeError:
        return None


def _fail(token, code: str, message: str):
    raise RuleError(Problem.at(_span(token), code, message))


def _refuse_invisible(token: Token, text: str, what: str) -> None:
    """Names and reasons are read by people: no character that does not show (a direction override can make a
    name read backwards, a zero-width space makes two names that look the same differ)."""
    index = invisible_character(text)
    if index is not None:
        line, column = getattr(token, "line", None), getattr(token, "column", None)
        raise RuleError(Problem("invisible-character", f"{what} holds an invisible character (U+{ord(text[index]):04X}"
                                ", such as a direction mark or a zero-width space pasted from another program). "
                                "Retype it.", line=line, column=column and column + 1 + index, end_line=line,
                                end_column=column and column + 2 + index))


def unquote(token: Token | str) -> str:
    if "\r" in token:  # a lone carriage return: a line break to most editors (and to Python's text files)
        index = token.index("\r")
        line, column = getattr(token, "line", None), getattr(token, "column", None)
        raise RuleError(Problem("control-character", "Text in quotes must be on one line: remove the line break "
                                "inside the quotes.", line=line, column=column and column + index,
                                end_line=line, end_column=column and column + index + 1))
    if token.startswith("“"):
        return token[1:-1]
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def parse_number(token) -> Decimal:
    """A number as written, refused when it has more digits than the engines can hold exactly."""
    try:
        number = Decimal(str(token))
    except InvalidOperation:  # pragma: no cover - the grammar only lets digits through
        _fail(token, "bad-number", f"'{token}' is not a number.")
    digits = number.normalize().as_tuple().digits
    if len(digits) > MAX_SIGNIFICANT_DIGITS or abs(number) >= Decimal(10) ** MAX_SIGNIFICANT_DIGITS:
        _fail(token, "bad-number", f"The number {token} has too many digits; use at most "
                                   f"{MAX_SIGNIFICANT_DIGITS} significant digits.")
    return number + 0 if number else Decimal(0)  # "+0" drops a sign typed as "+5"; 0 is never "-0"


@v_args(meta=True)
class _ToSyntax(Transformer_NonRecursive):
    def start(self, meta, items):
        return items[0]

    def rule(self, meta, items):
        _keyword, name, *rest = items
        priority, enabled, priority_span = 0, True, None
        conclusion = because = None
        condition = None
        headers: set[str] = set()
        for item in rest:
            if isinstance(item, tuple) and item[0] in ("priority", "disabled"):
                if item[0] in headers:  # the formatter keeps one: refuse rather than drop the other silently
                    raise RuleError(Problem.at(item[-1], "duplicate-header", f"'{item[0]}' is written twice; "
                                               "write it once, after the rule's name."))
                headers.add(item[0])
            if isinstance(item, tuple) and item[0] == "priority":
                priority, priority_span = item[1], item[2]
            elif isinstance(item, tuple) and item[0] == "disabled":
                enabled = False
            elif isinstance(item, Conclusion):
                conclusion = item
            elif isinstance(item, tuple) and item[0] == "because":
                because = item[1]
            elif isinstance(item, Token) and item.type == "WHEN":
                continue
            else:
                condition = item
        title = unquote(name)
        if not title.strip():
            _fail(name, "empty-name", 'The rule needs a name between the quotes, for example: rule "High fever"')
        _refuse_invisible(name, title, "The rule's name")
        return Rule(name=title, condition=condition, conclusion=conclusion, because=because, priority=priority,
                    enabled=enabled, span=_span(meta), name_span=_span(name), priority_span=priority_span)

    def priority(self, meta, items):
        number = parse_number(items[1])
        if number != number.to_integral_value() or abs(number) > 1_000_000:
            _fail(items[1], "bad-priority", "The priority must be a whole number, for example: priority 2")
        return ("priority", int(number), _span(meta))

    def disabled(self, meta, items):
        return ("disabled", _span(meta))

    def because(self, meta, items):
        reason = unquote(items[1])
        if not reason.strip():
            _fail(items[1], "empty-reason", 'Write the reason between the quotes (or leave out "because"), for '
                                            'example: because "Guideline 4.2"')
        _refuse_invisible(items[1], reason, "The reason")
        return ("because", reason)

    def label(self, meta, items):
        return items[0]

    def conclusion(self, meta, items):
        outcome, label = items[1], items[3]
        confidence = confidence_span = None
        if len(items) > 4:
            quantity = items[6]
            confidence, confidence_span = quantity.number, quantity.span
            if quantity.unit is not None:
                if quantity.unit != "%":
                    raise RuleError(Problem.at(quantity.span, "bad-confidence",
                                               "Confidence is a number between 0 and 1 or a percentage, for "
                                               "example: with confidence 0.8"))
                confidence = (confidence / 100).normalize() + 0
        if not unquote(label).strip():
            _fail(label, "empty-label", "Write the label between the quotes, for example: "
                                        f'then {" ".join(outcome.split())} is "high"')
        return Conclusion(outcome=" ".join(outcome.split()), label=unquote(label), confidence=confidence,
                          span=_span(meta), outcome_span=_span(outcome), label_span=_span(label),
                          confidence_span=confidence_span)

    # conditions
    def any_of(self, meta, items):
        return AnyOf(tuple(items), span=_span(meta))

    def all_of(self, meta, items):
        return AllOf(tuple(items), span=_span(meta))

    def not_(self, meta, items):
        return Not(items[1], span=_span(meta))

    def group(self, meta, items):
        return items[0]

    def at_least(self, meta, items):
        count_token, conditions = items[1], items[2:]
        count = parse_number(count_token)
        if count != count.to_integral_value() or count < 0:
            _fail(count_token, "bad-count", "'at least' needs a whole number, for example: at least 2 of (...)")
        return AtLeast(int(count), tuple(conditions), span=_span(meta))

    def _comparison(op):
        def build(self, meta, items):
            name, _op, *values = items
            if values and isinstance(values[0], list):
                values = values[0]
                flag = next((v for v in values if isinstance(v, Flag)), None)
                if flag is not None:  # no type takes a list of yes / no; the structured form refuses it too
                    feature = " ".join(name.split())
                    raise RuleError(Problem.at(flag.span, "flag-in-list", _FLAG_LIST_MESSAGE.format(feature=feature)))
            if op == "between" and values[0].unit is None and values[1].unit is not None:
                # "between 2 and 5 mm" means both ends are in mm
                values[0] = Quantity(values[0].number, values[1].unit, span=values[0].span)
            return Comparison(feature=" ".join(name.split()), op=op, values=tuple(values), span=_span(meta),
                              feature_span=_span(name))
        return build

    is_ = _comparison("is")
    is_not = _comparison("is not")
    above = _comparison("above")
    below = _comparison("below")
    at_least_value = _comparison("at least")
    at_most = _comparison("at most")
    between = _comparison("between")
    one_of = _comparison("one of")
    not_one_of = _comparison("not one of")
    contains = _comparison("contains")
    not_contains = _comparison("does not contain")
    missing = _comparison("is missing")
    known = _comparison("is known")

    def value_list(self, meta, items):
        return list(items)

    def quantity(self, meta, items):
        unit = str(items[1]) if len(items) > 1 else None
        if unit and unit.lower() == "percent":
            unit = "%"
        if unit and re.fullmatch(r"[eE][+-]?\d*", unit) and items[1].start_pos == items[0].end_pos:
            raise RuleError(Problem.at(_span(meta), "bad-number", "Write the number in full (for example 100000, "
                                       "not 1e5)."))
        return Quantity(parse_number(items[0]), unit, span=_span(meta))

    def text(self, meta, items):
        return Text(unquote(items[0]), span=_span(meta))

    def yes(self, meta, items):
        return Flag(True, span=_span(meta))

    def no(self, meta, items):
        return Flag(False, span=_span(meta))
