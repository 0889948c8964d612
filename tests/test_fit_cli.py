"""``python -m iobs fit`` pieces: file reading, the summary, one-line errors on bad input."""

import argparse
import json

import numpy as np
import pytest

import iobs
from iobs import datafiles
from iobs.cli import fit as fit_cli


def _parser():
    p = argparse.ArgumentParser(prog="iobs")
    fit_cli.add_parser(p.add_subparsers(dest="command", required=True))
    return p


def _run(argv, capsys):
    args = _parser().parse_args(["fit", *argv])
    rc = args.func(args)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def data(tmp_path):
    prob = iobs.make_problem("gaussian", d=30, n=80, k_star=3, signal="sign", seed=0)
    np.savetxt(tmp_path / "X.csv", prob.X, delimiter=",")
    np.savetxt(tmp_path / "y.csv", prob.y + 2.0, delimiter=",", header="target",
               comments="")
    np.save(tmp_path / "X.npy", prob.X)
    np.save(tmp_path / "y.npy", prob.y + 2.0)
    return tmp_path, prob


@pytest.mark.parametrize("ext", ["csv", "npy"])
def test_fit_writes_coefficients_and_a_summary(data, capsys, ext):
    d, prob = data
    rc, out, err = _run(["--x", str(d / f"X.{ext}"), "--y", str(d / f"y.{ext}"), "--k", "3",
                         "--out", str(d / "coef.csv")], capsys)
    assert rc == 0 and err == ""
    truth = np.flatnonzero(prob.theta_star).tolist()
    assert f"support    3 features: {truth}" in out and "converged" in out
    lines = (d / "coef.csv").read_text().splitlines()
    assert lines[0] == "index,coef" and len(lines) == 31
    coef = np.array([float(s.split(",")[1]) for s in lines[1:]])
    np.testing.assert_allclose(coef, prob.theta_star, atol=1e-9)


def test_fit_json_output_and_logistic(tmp_path, capsys):
    prob = iobs.make_problem("logistic", d=20, n=300, k_star=3, seed=1)
    np.save(tmp_path / "X.npy", prob.X)
    np.savetxt(tmp_path / "y.csv", prob.y.astype(int), fmt="%d")
    rc, _, _ = _run(["--x", str(tmp_path / "X.npy"), "--y", str(tmp_path / "y.csv"),
                       "--k", "3", "--loss", "logistic", "--out", str(tmp_path / "c.json")],
                      capsys)
    assert rc == 0
    res = json.loads((tmp_path / "c.json").read_text())
    assert len(res["coef"]) == 20 and len(res["support"]) == 3 and "stopped" in res


def _write(path, text):
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("x_text,y_text,extra,match", [
    (None, "1\n2\n", [], "no such file"),
    ("1,2\n3,abc\n", "1\n2\n", [], "row 2, column 2 is not a number: 'abc'"),
    ("1,2\n3\n", "1\n2\n", [], "row 2 has 1 cells; expected 2"),
    ("", "1\n2\n", [], "X: the file is empty"),
    ("a,b\n", "1\n2\n", [], "no data rows"),
    ("1,2\n3,nan\n", "1\n2\n", [], "row 2, column 2 is nan"),
    ("1,2\n3,4\n5,6\n", "1\n2\n", [], "one value per row of X"),
    ("1,2\n3,4\n", "1,2\n3,4\n", [], "y must be one column"),
    ("1,2\n3,5\n2,2\n", "0\n2\n1\n", ["--loss", "logistic"], "binary labels 0 or 1"),
    ("1,2\n3,5\n2,2\n", "0\n1\n1\n", ["--k", "3"], r"k must be in \[1, 2\]; got 3"),
    ("1,2\n3,5\n2,2\n", "0\n1\n1\n", ["--k", "0"], r"k must be in \[1, 2\]; got 0"),
])
def test_bad_input_is_one_line_on_stderr_and_exit_2(tmp_path, capsys, x_text, y_text, extra,
                                                     match):
    x = str(tmp_path / "missing.csv") if x_text is None else _write(tmp_path / "X.csv", x_text)
    y = _write(tmp_path / "y.csv", y_text)
    argv = ["--x", x, "--y", y, *(extra if "--k" in extra else ["--k", "1", *extra])]
    rc, out, err = _run(argv, capsys)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert pytest.importorskip("re").search(match, err), err


def test_file_over_the_size_limit_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(datafiles, "MAX_BYTES", 10)
    monkeypatch.setattr(datafiles.load_table, "__kwdefaults__", {"max_bytes": 10})
    x = _write(tmp_path / "X.csv", "1,2\n3,4\n5,6\n")
    rc, _, err = _run(["--x", x, "--y", x, "--k", "1"], capsys)
    assert rc == 2 and "over the limit of 10 bytes" in err


def test_load_table_reads_bytes_with_header_and_npy():
    t = datafiles.load_table(b"a;b\n1;2\n3;4\n", "X")
    np.testing.assert_array_equal(t, [[1, 2], [3, 4]])
    import io
    buf = io.BytesIO()
    np.save(buf, np.arange(3))
    assert datafiles.load_table(buf.getvalue(), "y").shape == (3, 1)
    with pytest.raises(ValueError, match="y: a .npy file must hold"):
        buf = io.BytesIO()
        np.save(buf, np.array(["a", "b"]))
        datafiles.load_table(buf.getvalue(), "y")
