"""What a number-plan regex looks at, read from the pattern's text.

libphonenumber's metadata patterns use a small part of regex syntax: digits, `\\d`, character
classes of digits and ranges, groups (`(…)`, `(?:…)`), alternation and the quantifiers `?`, `*`,
`+`, `{n}`, `{n,}`, `{n,m}`. `parse` reads exactly that into a small tree and refuses anything
else (`Unsupported`); the callers then assume the least (any first digit, no depth), which only
makes the fast path look at more.
"""

import math
from dataclasses import dataclass
from functools import cache

DIGITS = frozenset(b"0123456789")


class Unsupported(ValueError):
    """The pattern uses syntax beyond what phone-number metadata uses."""


@dataclass(frozen=True, slots=True)
class Chars:
    """One character out of `chars` (code points)."""

    chars: frozenset[int]


@dataclass(frozen=True, slots=True)
class Group:
    """One of `branches`, each a sequence of nodes."""

    branches: tuple[tuple, ...]


@dataclass(frozen=True, slots=True)
class Repeat:
    """`item` from `low` to `high` times (`high` may be `math.inf`)."""

    low: int
    high: float
    item: object


class _Reader:
    def __init__(self, pattern: str):
        self.text = pattern
        self.at = 0

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def take(self) -> str:
        character = self.peek()
        if not character:
            raise Unsupported("unexpected end of pattern")
        self.at += 1
        return character

    def branches(self) -> tuple[tuple, ...]:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.at += 1
            branches.append(self.sequence())
        return tuple(branches)

    def sequence(self) -> tuple:
        items = []
        while self.peek() not in ("", "|", ")"):
            items.append(self.quantified(self.atom()))
        return tuple(items)

    def atom(self):
        character = self.take()
        if character == "(":
            if self.text.startswith("?:", self.at):
                self.at += 2
            elif self.peek() == "?":
                raise Unsupported("group extension")
            group = Group(self.branches())
            if self.take() != ")":
                raise Unsupported("unbalanced group")
            return group
        if character == "[":
            return self.character_class()
        if character == "\\":
            return self.escape()
        if character in ".^$*+?{}]":
            raise Unsupported(f"{character!r} outside a class")
        return Chars(frozenset({ord(character)}))

    def escape(self) -> Chars:
        character = self.take()
        if character == "d":
            return Chars(DIGITS)
        if character.isalnum():
            raise Unsupported(f"escape \\{character}")
        return Chars(frozenset({ord(character)}))

    def character_class(self) -> Chars:
        if self.peek() == "^":
            raise Unsupported("negated class")
        chars: set[int] = set()
        while (character := self.take()) != "]":
            if character == "\\":
                chars |= self.escape().chars
            elif self.peek() == "-" and self.text[self.at + 1 : self.at + 2] not in ("", "]"):
                self.at += 1
                last = self.take()
                chars.update(range(ord(character), ord(last) + 1))
            else:
                chars.add(ord(character))
        return Chars(frozenset(chars))

    def quantified(self, item):
        character = self.peek()
        if character == "?":
            low, high = 0, 1
        elif character == "*":
            low, high = 0, math.inf
        elif character == "+":
            low, high = 1, math.inf
        elif character == "{":
            end = self.text.find("}", self.at)
            if end < 0:
                raise Unsupported("unclosed repeat")
            low_text, comma, high_text = self.text[self.at + 1 : end].partition(",")
            if not low_text.isdigit() or (high_text and not high_text.isdigit()):
                raise Unsupported("repeat bounds")
            low = int(low_text)
            high = int(high_text) if high_text else math.inf if comma else low
            self.at = end
        else:
            return item
        self.at += 1
        if self.peek() in ("?", "+"):
            # Lazy or possessive: the same strings match, which is all that is asked here.
            self.at += 1
        return Repeat(low, high, item)


def parse(pattern: str) -> tuple:
    """The pattern as a sequence of nodes; Unsupported beyond metadata syntax."""
    reader = _Reader(pattern)
    branches = reader.branches()
    if reader.peek():
        raise Unsupported("unbalanced group")
    return branches[0] if len(branches) == 1 else (Group(branches),)


@cache
def first_digits(pattern: str) -> frozenset[int]:
    """The digits a match of `pattern` can start with: all of them where that is not plain."""
    try:
        first = _first_characters(parse(pattern))
    except Unsupported:
        return DIGITS
    return DIGITS & first[0]


def _first_characters(items: tuple) -> tuple[frozenset[int], bool]:
    """The characters a sequence can start with, and whether it can match nothing."""
    characters: frozenset[int] = frozenset()
    for item in items:
        first, empty = _first_of(item)
        characters |= first
        if not empty:
            return characters, False
    return characters, True


def _first_of(item) -> tuple[frozenset[int], bool]:
    if isinstance(item, Chars):
        return item.chars, False
    if isinstance(item, Group):
        branches = [_first_characters(branch) for branch in item.branches]
        return (
            frozenset().union(*(first for first, _ in branches)),
            any(empty for _, empty in branches),
        )
    first, empty = _first_of(item.item)
    return first, item.low == 0 or empty


@cache
def depth(pattern: str) -> int | None:
    """How many leading digits decide whether `pattern` matches a digit string of a given length.

    Beyond that position every character the regex tests is one that any digit passes (`\\d`,
    `[0-9]`), so the regex engine takes the same steps on two digit strings of the same length that
    agree up to there. None for syntax beyond metadata's, and where an unbounded repeat comes
    before a test that not every digit passes.
    """
    try:
        reach = _reach(parse(pattern), 0)
    except Unsupported:
        return None
    return None if reach[0] == math.inf else int(reach[0])


def _reach(items: tuple, offset: float) -> tuple[float, float]:
    """(depth, end) of a sequence starting at most at `offset`: the furthest position just past
    a test not every digit passes, and the furthest position the sequence can end at."""
    depth = 0.0
    for item in items:
        if isinstance(item, Chars):
            if not item.chars >= DIGITS:
                depth = max(depth, offset + 1)
            offset += 1
        elif isinstance(item, Group):
            branches = [_reach(branch, offset) for branch in item.branches]
            depth = max(depth, *(branch_depth for branch_depth, _ in branches))
            offset = max(end for _, end in branches)
        else:
            once_depth, once_end = _reach((item.item,), 0)
            if once_depth:
                # The last repetition starts at most `high - 1` lengths in.
                depth = max(depth, offset + (item.high - 1) * once_end + once_depth)
            offset += item.high * once_end if once_end else 0
        if depth == math.inf:
            return depth, offset
    return depth, offset
