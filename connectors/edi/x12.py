"""X12 syntax: the delimiters an interchange declares in its ISA, splitting a file into
segments and elements, and writing segments back with the delimiters configured for a partner.

ASC X12.5/X12.6 fix the ISA's layout: 16 elements of fixed width, so the element separator is
the character after "ISA" (position 4), the component separator is ISA16 (position 105) and the
segment terminator the character right after it (position 106); in 5010 (00501) ISA11 is the
repetition separator, in 4010 (00401) it is the standards identifier "U". Optional CR/LF after
each terminator is tolerated on input. Nothing here knows a transaction set; envelopes are
`connectors.edi.envelopes`.
"""

from __future__ import annotations

from dataclasses import dataclass

ISA_LENGTH = 106  # "ISA" + 16 elements and their separators, and the segment terminator
# (name, width) of ISA01..ISA16; each is exactly this wide, blank-padded on the right.
ISA_WIDTHS: tuple[tuple[str, int], ...] = (
    ("authorization qualifier", 2),
    ("authorization information", 10),
    ("security qualifier", 2),
    ("security information", 10),
    ("sender id qualifier", 2),
    ("sender id", 15),
    ("receiver id qualifier", 2),
    ("receiver id", 15),
    ("date", 6),
    ("time", 4),
    ("repetition separator / standards id", 1),
    ("version", 5),
    ("control number", 9),
    ("acknowledgment requested", 1),
    ("usage indicator", 1),
    ("component separator", 1),
)


# Characters partners use as delimiters; free text never carries them.
_DELIMITER_LIKE = frozenset("*~^:|>\\")


class X12SyntaxError(ValueError):
    """The bytes are not an X12 interchange (no readable ISA): nothing can be acknowledged."""


@dataclass(frozen=True)
class Delimiters:
    element: str = "*"
    component: str = ":"
    segment: str = "~"
    # 5010 only (ISA11); None in 4010, where ISA11 is "U".
    repetition: str | None = None
    # Written after each segment terminator (e.g. "\n"); input ignores CR/LF there anyway.
    suffix: str = ""

    def check(self) -> None:
        chars = [self.element, self.component, self.segment] + ([self.repetition] if self.repetition else [])
        if any(len(c) != 1 or c.isalnum() or c == " " for c in chars) or len(set(chars)) != len(chars):
            raise ValueError(f"X12 delimiters must be distinct single non-alphanumeric characters: {chars}")


@dataclass(frozen=True)
class Segment:
    """One segment: its id and its elements (`elements[0]` is element 01); trailing empty
    elements are dropped when written, as X12.6 requires."""

    id: str
    elements: tuple[str, ...]
    # 1-based position of the segment in the file (for error reports).
    position: int = 0

    def get(self, index: int) -> str:
        """Element `index` (1-based, as the standard numbers them); "" when absent."""
        return self.elements[index - 1] if 0 < index <= len(self.elements) else ""

    def components(self, index: int, delimiters: Delimiters) -> list[str]:
        return self.get(index).split(delimiters.component)


def seg(segment_id: str, *elements: str | int | None) -> Segment:
    """A segment to write; None and "" are empty elements."""
    return Segment(segment_id, tuple("" if e is None else str(e) for e in elements))


def delimiters_of(data: str) -> Delimiters:
    """The delimiters the file's ISA declares."""
    text = data.lstrip("\ufeff\r\n ")
    if not text.startswith("ISA") or len(text) < ISA_LENGTH:
        raise X12SyntaxError("not an X12 interchange: it does not start with a complete ISA segment")
    element = text[3]
    fields = text[4:ISA_LENGTH].split(element, 15)
    if len(fields) != 16 or len(fields[15]) < 2:
        raise X12SyntaxError(f"the ISA segment does not have 16 elements separated by {element!r}")
    component, segment = fields[15][0], fields[15][1]
    version = fields[11]
    repetition = fields[10] if version >= "00402" and fields[10] != "U" else None
    delimiters = Delimiters(element=element, component=component, segment=segment, repetition=repetition)
    try:
        delimiters.check()
    except ValueError as exc:
        raise X12SyntaxError(str(exc)) from None
    return delimiters


def tokenize(data: str) -> tuple[Delimiters, list[Segment]]:
    """The file's delimiters and its segments, in order (empty lines between them ignored)."""
    text = data.lstrip("\ufeff\r\n ")
    delimiters = delimiters_of(text)
    segments: list[Segment] = []
    for raw in text.split(delimiters.segment):
        raw = raw.strip("\r\n")
        if not raw:
            continue
        parts = raw.split(delimiters.element)
        segments.append(Segment(parts[0], tuple(parts[1:]), position=len(segments) + 1))
    return delimiters, segments


def render(segments: list[Segment], delimiters: Delimiters) -> str:
    """The segments as X12 text with `delimiters`; an element holding a delimiter is refused
    (X12 has no escape: a partner would split it)."""
    delimiters.check()
    forbidden = {delimiters.element, delimiters.segment}
    out = []
    for segment in segments:
        elements = list(segment.elements)
        if segment.id != "ISA":
            while elements and elements[-1] == "":
                elements.pop()
        for value in elements:
            bad = forbidden.intersection(value)
            if bad:
                raise ValueError(f"{segment.id} element {value!r} holds the delimiter {bad.pop()!r}")
        out.append(delimiters.element.join([segment.id, *elements]) + delimiters.segment + delimiters.suffix)
    return "".join(out)


def clean(value: str | None, width: int | None = None) -> str:
    """Free text made safe for an element: delimiter-like characters and line breaks become
    spaces, cut to `width` (X12 elements have maximum lengths)."""
    text = " ".join("".join(" " if c in _DELIMITER_LIKE else c for c in (value or "")).split())
    return text[:width] if width else text
