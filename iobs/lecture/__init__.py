"""Lectures: a guided tour through the app as a small TOML file.

A lecture has a ``title`` and an ordered list of ``[[scene]]`` tables; each scene names a
``page`` (its url path, or ``home``), a ``values`` table of widget values keyed by their URL
parameters (``it_k = 8``), its ``narration`` (what to say) and ``look`` (what to look at),
and an optional short ``title``::

    title = "I-OBS in ten scenes"

    [[scene]]
    page = "iterates"
    title = "IHT crawls"
    narration = "Same problem, three methods. k-IHT needs many steps."
    look = "The k-IHT panel: stems still far from the circles at t = 40."
    [scene.values]
    it_cond = 1000.0

:func:`loads` / :func:`load` check every scene against :mod:`iobs.lecture.catalogue` (the
app's pages and their widgets) and raise :class:`LectureError` (a ``ValueError``) with one
line naming the scene and the key: an unknown page, an unknown widget key, a value outside
the widget's range or options, a missing field, or a file that is not TOML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from iobs.lecture.catalogue import HOME, PAGES, Widget, widgets_of

try:                         # the standard library from Python 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 without tomli
    tomllib = None

__all__ = ["HOME", "SHIPPED", "Lecture", "LectureError", "Scene", "load", "loads", "shipped"]

SHIPPED = Path(__file__).with_name("iobs.toml")   # the default lecture on I-OBS
MAX_BYTES = 256 * 1024                            # a lecture is text: refuse anything larger
FIELDS = {"page", "title", "narration", "look", "values"}


class LectureError(ValueError):
    """A lecture file that cannot be given; the message is one line for the lecturer."""


@dataclass(frozen=True)
class Scene:
    """One stop of the tour: ``page`` (url path, or ``"home"``) and the widget ``values``
    (URL key -> value, already checked and typed as the widget takes them)."""

    page: str
    narration: str
    look: str
    values: dict = field(default_factory=dict)
    title: str = ""


@dataclass(frozen=True)
class Lecture:
    title: str
    scenes: tuple[Scene, ...]
    source: str = ""

    def __len__(self) -> int:
        return len(self.scenes)

    def outline(self) -> list[str]:
        """One line per scene, numbered from 1: ``3. iterates — IHT crawls``."""
        return [f"{i}. {s.page}" + (f" — {s.title}" if s.title else "")
                for i, s in enumerate(self.scenes, 1)]


def load(path) -> Lecture:
    """Read and check the lecture file at ``path`` (see :func:`loads`)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise LectureError(f"{p}: cannot read the lecture file ({exc.strerror or exc})") \
            from None
    return loads(data, name=str(p))


def shipped() -> Lecture:
    """The default lecture on I-OBS that ships with the package."""
    return load(SHIPPED)


def loads(text: str | bytes, *, name: str = "lecture") -> Lecture:
    """Parse and check a lecture from its TOML text; ``name`` starts every error message.

    Raises
    ------
    LectureError
        One line naming the file, the scene (numbered from 1) and the key at fault.
    """
    if len(text) > MAX_BYTES:
        raise LectureError(f"{name}: the file is {len(text):,} bytes; a lecture must be at "
                           f"most {MAX_BYTES:,} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LectureError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    if tomllib is None:  # pragma: no cover
        raise LectureError(f"{name}: reading lectures needs Python >= 3.11 (tomllib)")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LectureError(f"{name}: not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - {"title", "scene"})
    if unknown:
        raise LectureError(f"{name}: unknown top-level key {unknown[0]!r} (a lecture has "
                           "'title' and [[scene]] tables)")
    title = doc.get("title")
    if not isinstance(title, str) or not title.strip():
        raise LectureError(f"{name}: missing 'title' (a line such as title = \"My lecture\")")
    scenes = doc.get("scene")
    if not isinstance(scenes, list) or not scenes:
        raise LectureError(f"{name}: no scenes (add [[scene]] tables with page, narration, "
                           "look and values)")
    return Lecture(title.strip(), tuple(_scene(s, i, name) for i, s in enumerate(scenes, 1)),
                   source=name)


def _scene(raw, i: int, name: str) -> Scene:
    where = f"{name}: scene {i}"
    if not isinstance(raw, dict):
        raise LectureError(f"{where}: a scene must be a [[scene]] table")
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        raise LectureError(f"{where}: unknown field {unknown[0]!r} (allowed: "
                           f"{', '.join(sorted(FIELDS))})")
    page = raw.get("page")
    if not isinstance(page, str):
        raise LectureError(f"{where}: missing 'page' (one of {', '.join(PAGES)})")
    if page not in PAGES:
        raise LectureError(f"{where}: unknown page {page!r} (one of {', '.join(PAGES)})")
    where = f"{where} ({page})"
    text = {}
    for key in ("narration", "look"):
        v = raw.get(key)
        if not isinstance(v, str) or not v.strip():
            raise LectureError(f"{where}: missing {key!r} (a non-empty string)")
        text[key] = " ".join(v.split())
    title = raw.get("title", "")
    if not isinstance(title, str):
        raise LectureError(f"{where}: 'title' must be a string")
    values = raw.get("values", {})
    if not isinstance(values, dict):
        raise LectureError(f"{where}: 'values' must be a table of widget key = value")
    allowed = widgets_of(page)
    checked = {}
    for key, v in values.items():
        if key not in allowed:
            raise LectureError(f"{where}: unknown widget key {key!r} (the {page} page has "
                               f"{', '.join(allowed)})")
        checked[key] = check_value(allowed[key], v, f"{where}: {key}")
    return Scene(page, text["narration"], text["look"], checked, title.strip())


def _equal(a, b) -> bool:
    """Option match: numbers by value (TOML's 100 is the option 100.0), never bool vs 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _option(w: Widget, v, where: str):
    for o in w.options:
        if _equal(o, v):
            return o
    raise LectureError(f"{where} = {v!r} is not allowed ({w.label}: {w.describe()})")


def check_value(w: Widget, v, where: str):
    """``v`` as the widget takes it (the option object itself; float for a float slider), or
    :class:`LectureError` naming ``where``, the value and the allowed range."""
    if w.kind == "toggle":
        if not isinstance(v, bool):
            raise LectureError(f"{where} = {v!r} is not allowed ({w.label}: true or false)")
        return v
    if w.kind in ("select", "select_slider"):
        return _option(w, v, where)
    if w.kind == "multiselect":
        if not isinstance(v, list):
            raise LectureError(f"{where} = {v!r} is not allowed ({w.label}: a list such as "
                               f"[{', '.join(map(repr, w.options[:2]))}])")
        out = [_option(w, x, where) for x in v]
        if len(set(out)) < len(out):
            raise LectureError(f"{where} = {v!r} names an option twice ({w.label})")
        return out
    bad = isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
        or (w.integer and not isinstance(v, int)) or not w.lo <= v <= w.hi
    if not bad and w.step not in (None, 1):
        units = (v - w.lo) / w.step
        bad = abs(units - round(units)) > 1e-6
    if bad:
        raise LectureError(f"{where} = {v!r} is outside the allowed range ({w.label}: "
                           f"{w.describe()})")
    return int(v) if w.integer else float(v)
