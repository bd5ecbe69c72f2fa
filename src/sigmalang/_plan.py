"""Search planning: from a regular expression, the literal fragments every match must contain
(tested against the frames' filters), and whether a match can span a line feed.

Both read the parse tree of Python's own regular-expression parser (``re._parser``), so the
pattern means exactly what :func:`re.compile` makes of it. Anything this module does not
understand gives no information (every frame is a candidate), never a wrong answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

from ._filters import FrameFilter, Probe, literal_items

__all__ = ["Plan", "can_span_lines", "plan_patterns"]

_REPEATS = {C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", C.MAX_REPEAT)}


@dataclass(frozen=True, slots=True)
class Plan:
    """A boolean formula over literal fragments: *op* is ``"lit"``, ``"and"`` or ``"or"``."""

    op: str
    probe: Probe | None = None
    parts: tuple[Plan, ...] = ()

    def informative(self) -> bool:
        return self.op != "and" or bool(self.parts)

    def may_match(self, frame_filter: FrameFilter) -> bool:
        if self.op == "lit":
            assert self.probe is not None
            return frame_filter.may_contain(self.probe)
        if self.op == "and":
            return all(part.may_match(frame_filter) for part in self.parts)
        return any(part.may_match(frame_filter) for part in self.parts)

    def fragments(self) -> list[bytes]:
        """For ``--verbose``: every literal fragment in the formula."""
        if self.op == "lit":
            assert self.probe is not None
            return [self.probe.fragment]
        return [fragment for part in self.parts for fragment in part.fragments()]


_TRUE = Plan("and")


def _lit(fragment: bytes) -> Plan:
    probe = literal_items(fragment)
    return Plan("lit", probe) if probe.hashes else _TRUE


def _and(parts: list[Plan]) -> Plan:
    parts = [p for p in parts if p.informative()]
    return parts[0] if len(parts) == 1 else Plan("and", parts=tuple(parts))


def _terms(items: Any) -> list[Plan]:
    """The conjunction of what a sequence of parse-tree items requires."""
    terms: list[Plan] = []
    run = bytearray()

    def flush() -> None:
        if run:
            terms.append(_lit(bytes(run)))
            run.clear()

    for op, av in items:
        if op is C.LITERAL:
            run.append(av)
            continue
        if op is C.SUBPATTERN and all(sub_op is C.LITERAL for sub_op, _ in av[-1]):
            run.extend(value for _, value in av[-1])
            continue
        flush()
        if op is C.SUBPATTERN:
            terms.extend(_terms(av[-1]))
        elif op is getattr(C, "ATOMIC_GROUP", None):
            terms.extend(_terms(av))
        elif op in _REPEATS and av[0] >= 1:
            terms.extend(_terms(av[2]))
        elif op is C.BRANCH:
            alternatives = [_and(_terms(branch)) for branch in av[1]]
            if all(alt.informative() for alt in alternatives):
                terms.append(Plan("or", parts=tuple(alternatives)))
    flush()
    return terms


def plan_patterns(patterns: list[bytes], *, fixed: bool, flags: int) -> Plan:
    """What any line selected by one of *patterns* must contain (the empty conjunction: nothing known)."""
    alternatives = []
    for pattern in patterns:
        plan = _lit(pattern) if fixed else _and(_terms(P.parse(pattern, flags)))
        if not plan.informative():
            return _TRUE
        alternatives.append(plan)
    return alternatives[0] if len(alternatives) == 1 else Plan("or", parts=tuple(alternatives))


_SAFE_CATEGORIES = {C.CATEGORY_DIGIT, C.CATEGORY_WORD}


def can_span_lines(patterns: list[bytes], flags: int) -> bool:
    """Whether a match of one of *patterns* might contain a line feed or depend on the string's
    start or end (then the patterns must be applied line by line). Conservative."""
    for pattern in patterns:
        parsed = P.parse(pattern, flags)
        if _spans(parsed, bool(parsed.state.flags & re.DOTALL)):
            return True
    return False


def _spans(items: Any, dotall: bool) -> bool:
    for op, av in items:
        if op is C.LITERAL:
            bad = av == 10
        elif op is C.NOT_LITERAL:
            bad = av != 10
        elif op is C.ANY:
            bad = dotall
        elif op is C.IN:
            bad = any(_class_spans(item_op, item_av) for item_op, item_av in av)
        elif op is C.AT:
            bad = av in (C.AT_BEGINNING_STRING, C.AT_END_STRING)
        elif op is C.SUBPATTERN:
            bad = bool(av[1] & re.DOTALL) or _spans(av[-1], dotall)
        elif op in _REPEATS:
            bad = _spans(av[2], dotall)
        elif op is C.BRANCH:
            bad = any(_spans(branch, dotall) for branch in av[1])
        elif op in (C.ASSERT, C.ASSERT_NOT):
            bad = _spans(av[1], dotall)
        elif op is getattr(C, "ATOMIC_GROUP", None):
            bad = _spans(av, dotall)
        elif op is C.GROUPREF:
            bad = False
        else:
            bad = True
        if bad:
            return True
    return False


def _class_spans(op: Any, av: Any) -> bool:
    if op is C.LITERAL:
        return bool(av == 10)
    if op is C.RANGE:
        return bool(av[0] <= 10 <= av[1])
    if op is C.CATEGORY:
        return av not in _SAFE_CATEGORIES
    return True
