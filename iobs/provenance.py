r"""Provenance tags: where a fact, a bound, a method or a constant comes from.

The five tags are the labels of PAPER.md ("What we know about the paper"); the app shows
each as a badge. A tag is always given explicitly -- never guessed from words in a text
(a derived bound that *mentions* the paper is still derived here).

========================  ===========================================================
:data:`PAPER`             the paper's camera-ready text (a theorem, lemma or section)
:data:`AUTHORS_CODE`      the first author's public prototype of the synthetic runs
:data:`DERIVED`           our own derivation (sketched in the docstring that uses it)
:data:`LITERATURE`        classic or recent literature, named per item
:data:`MEASURED`          what this program computes on this machine
========================  ===========================================================

:class:`Source` is a string (so it prints, sorts and serialises as its text) that carries
its :class:`Tag`: ``Source(PAPER, "Lemma 3")`` reads "from the paper, Lemma 3".

Examples
--------
>>> s = Source(DERIVED, "H-metric projection; agrees with the paper's Theorem 1 at eta = 1")
>>> s.tag is DERIVED, str(s).startswith("derived here")
(True, True)
>>> Source("paper", "Lemma 3")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: tag must be one of the Tag members (from the paper, ...), got 'paper'
"""

from __future__ import annotations

import enum

__all__ = ["AUTHORS_CODE", "DERIVED", "LITERATURE", "MEASURED", "PAPER", "TAGS", "Source",
           "Tag", "check_tag"]


class Tag(enum.Enum):
    """A provenance tag; its value is the label shown on screen."""

    PAPER = "from the paper"
    AUTHORS_CODE = "authors' code"
    DERIVED = "derived here"
    LITERATURE = "from the literature"
    MEASURED = "measured here"

    def __str__(self) -> str:
        return self.value


PAPER, AUTHORS_CODE, DERIVED, LITERATURE, MEASURED = Tag
TAGS = tuple(Tag)


def check_tag(tag) -> Tag:
    """``tag`` itself when it is a :class:`Tag`, else a ValueError naming the allowed tags.

    A plain string, even one equal to a label, is refused: tags are explicit.
    """
    if not isinstance(tag, Tag):
        allowed = ", ".join(t.value for t in Tag)
        raise ValueError(f"tag must be one of the Tag members ({allowed}), got {tag!r}")
    return tag


class Source(str):
    """A source text with an explicit :class:`Tag`: ``"<tag label>, <detail>"``.

    Parameters
    ----------
    tag : Tag
        Where the item comes from.
    detail : str, default ""
        The theorem, reference or remark (``"Theorem 1"``, ``"Foucart 2011"``).
    """

    def __new__(cls, tag: Tag, detail: str = ""):
        tag = check_tag(tag)
        if not isinstance(detail, str):
            raise ValueError(f"detail must be a string, got {detail!r}")
        self = super().__new__(cls, f"{tag.value}, {detail}" if detail else tag.value)
        self.tag, self.detail = tag, detail
        return self

    def __getnewargs__(self):          # pickling (st.cache_data) rebuilds from tag + detail
        return (self.tag, self.detail)

    def __add__(self, other: str) -> Source:
        """Appending a remark keeps the tag."""
        return Source(self.tag, self.detail + other)

    def __repr__(self) -> str:
        return f"Source({self.tag.name}, {self.detail!r})"
