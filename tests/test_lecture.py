"""Lecture files: the shipped lecture checks; every kind of broken file is refused with one
line naming the scene and the key; ``python -m iobs lecture check`` prints the outline or
that line (exit code 2)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from iobs import lecture
from iobs.cli import main
from iobs.lecture.catalogue import PAGES

ROOT = Path(__file__).resolve().parents[1]
GOOD = '''title = "A short tour"

[[scene]]
page = "iterates"
title = "IHT crawls"
narration = "Same problem, three methods. k-IHT needs many steps."
look = "The k-IHT panel."
[scene.values]
it_k = 20
it_cond = 1000
it_methods = ["iht", "iobs"]
seed = 3

[[scene]]
page = "home"
narration = "The story. Four steps."
look = "The live chart."
'''


def _broken(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


def test_a_good_lecture_is_read_with_typed_values():
    lec = lecture.loads(GOOD, name="tour.toml")
    assert lec.title == "A short tour" and len(lec) == 2
    values = lec.scenes[0].values
    assert values == {"it_k": 20, "it_cond": 1000.0, "it_methods": ["iht", "iobs"], "seed": 3}
    assert isinstance(values["it_cond"], float)      # the option object, as the widget has it
    assert lec.outline() == ["1. iterates — IHT crawls", "2. home"]


def test_the_shipped_lecture_covers_the_story():
    lec = lecture.shipped()
    pages = {s.page for s in lec.scenes}
    assert len(lec) >= 10 and len(pages) >= 5
    assert {"home", "iterates", "projection", "convergence", "phase", "reproduce",
            "prune"} <= pages
    for i, s in enumerate(lec.scenes, 1):
        sentences = len(re.findall(r"[.!?](?:\s|$)", s.narration.replace("e.g.", "eg")))
        assert 2 <= sentences <= 4, (i, sentences, s.narration)
        assert s.title and s.look


BROKEN = {   # kind of fault -> (broken text, words the one-line message must contain)
    "not TOML": (_broken('title = "A short tour"', 'title = "A short tour'),
                 ["not valid TOML", "line 1"]),
    "no title": (_broken('title = "A short tour"\n', ""), ["missing 'title'"]),
    "no scenes": ('title = "x"\n', ["no scenes"]),
    "unknown top-level key": ('title = "x"\nscenes = 3\n', ["unknown top-level key 'scenes'"]),
    "unknown page": (_broken('page = "iterates"', 'page = "iterate"'),
                     ["scene 1", "unknown page 'iterate'", "iterates"]),
    "missing page": (_broken('page = "iterates"\n', ""), ["scene 1", "missing 'page'"]),
    "missing narration": (_broken('narration = "The story. Four steps."\n', ""),
                          ["scene 2 (home)", "missing 'narration'"]),
    "empty look": (_broken('look = "The live chart."', 'look = " "'),
                   ["scene 2 (home)", "missing 'look'"]),
    "unknown field": (_broken('look = "The k-IHT panel."', 'lok = "The k-IHT panel."'),
                      ["scene 1", "unknown field 'lok'"]),
    "unknown widget key": (_broken("it_k = 20", "it_kk = 20"),
                           ["scene 1 (iterates)", "unknown widget key 'it_kk'"]),
    "a key of another page": (_broken("it_k = 20", "cv_eta = 0.5"),
                              ["scene 1 (iterates)", "'cv_eta'"]),
    "slider above its range": (_broken("it_k = 20", "it_k = 600"),
                               ["scene 1 (iterates)", "it_k = 600", "1..512"]),
    "slider below its range": (_broken("it_k = 20", "it_k = 0"), ["it_k = 0", "1..512"]),
    "fraction for a whole-number slider": (_broken("it_k = 20", "it_k = 2.5"),
                                           ["it_k = 2.5", "whole numbers"]),
    "off the slider's grid": (_broken("it_k = 20", "it_eta = 0.33"),
                              ["it_eta = 0.33", "steps of 0.05"]),
    "text for a number": (_broken("it_k = 20", 'it_k = "20"'), ["it_k = '20'"]),
    "not an option": (_broken("it_cond = 1000", "it_cond = 500"),
                      ["it_cond = 500", "not allowed", "1000"]),
    "unknown method": (_broken('["iht", "iobs"]', '["iht", "newton"]'),
                       ["it_methods", "'newton'"]),
    "option twice": (_broken('["iht", "iobs"]', '["iht", "iht"]'), ["twice"]),
    "single option for a list": (_broken('["iht", "iobs"]', '"iht"'), ["a list"]),
    "seed out of range": (_broken("seed = 3", "seed = -1"), ["seed = -1"]),
    "values not a table": (_broken("[scene.values]\nit_k = 20\nit_cond = 1000\n"
                                   'it_methods = ["iht", "iobs"]\nseed = 3\n', "values = 3\n"),
                           ["'values' must be a table"]),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_a_broken_lecture_is_refused_with_one_line(kind):
    text, words = BROKEN[kind]
    with pytest.raises(lecture.LectureError) as err:
        lecture.loads(text, name="tour.toml")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("tour.toml: ")
    for w in words:
        assert w in msg, (w, msg)


def test_undecodable_and_oversized_and_missing_files_are_refused(tmp_path):
    with pytest.raises(lecture.LectureError, match="not UTF-8"):
        lecture.loads(b"title = \"\xff\"", name="x.toml")
    with pytest.raises(lecture.LectureError, match="at most"):
        lecture.loads("#" * (lecture.MAX_BYTES + 1), name="x.toml")
    with pytest.raises(lecture.LectureError, match="cannot read"):
        lecture.load(tmp_path / "absent.toml")


def test_every_catalogued_widget_accepts_its_own_default_and_options():
    for page, widgets in PAGES.items():
        for key, w in widgets.items():
            vals = list(w.options) if w.kind in ("select", "select_slider") else \
                [list(w.options)] if w.kind == "multiselect" else \
                [True, False] if w.kind == "toggle" else [w.lo, w.hi]
            for v in vals:
                assert lecture.check_value(w, v, f"{page}.{key}") == v


def test_cli_check_prints_the_shipped_outline(capsys):
    assert main(["lecture", "check"]) == 0
    out = capsys.readouterr().out.splitlines()
    lec = lecture.shipped()
    assert lec.title in out[0] and f"{len(lec)} scenes" in out[0]
    assert [line.strip() for line in out[1:]] == lec.outline()


def test_cli_check_of_a_broken_file_is_one_line_and_exit_code_2(tmp_path):
    f = tmp_path / "tour.toml"
    f.write_text(BROKEN["slider above its range"][0])
    res = subprocess.run([sys.executable, "-m", "iobs", "lecture", "check", str(f)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 2 and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "scene 1 (iterates): it_k = 600" in lines[0], res.stderr
    assert "Traceback" not in res.stderr
    f.write_text(GOOD)
    res = subprocess.run([sys.executable, "-m", "iobs", "lecture", "check", str(f)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 0 and "1. iterates — IHT crawls" in res.stdout
