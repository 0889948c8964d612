"""Pruning the tiny transformers: kernels on real activations, checkpoints, I-OBS(T), page."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the pruning part needs torch")

from iobs.prune import layerwise as lw  # noqa: E402
from iobs import prune as P  # noqa: E402
from iobs.prune import data, hessians, models, store, study, train  # noqa: E402
from iobs.viz import prune as figures  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def vit():
    return P.load_model("vit")


@pytest.fixture(scope="module")
def vit_hessians(vit):
    layers = models.prunable_layers(vit)
    return layers, hessians.layer_hessians(vit, layers, data.calibration_batch("vit", 256))


def test_obs_lowers_layer_reconstruction_error_vs_magnitude_on_real_activations(vit_hessians):
    layers, Hs = vit_hessians
    for name, layer in layers:
        W, H = layer.weight.double().numpy(), Hs[name]
        err_mag = lw.reconstruction_error(W, lw.magnitude_prune(W, 0.5)[0], H)
        err_obs = lw.reconstruction_error(W, lw.obs_prune(W, H, 0.5)[0], H)
        assert err_obs < 0.8 * err_mag, name


def test_layer_hessians_match_the_definition_and_hooks_are_removed(vit, vit_hessians):
    layers, Hs = vit_hessians
    name, layer = layers[0]
    batch = data.calibration_batch("vit", 256)
    seen = []
    handle = layer.register_forward_pre_hook(lambda m, inp: seen.append(inp[0].reshape(-1, 64)))
    try:
        with torch.no_grad():
            vit(batch.inputs)
    finally:
        handle.remove()
    X = torch.cat(seen).double().numpy()
    np.testing.assert_allclose(Hs[name], 2 * X.T @ X / len(X), rtol=1e-10, atol=1e-12)
    assert all(not lay._forward_pre_hooks for _, lay in layers)


def test_hooks_are_removed_when_the_forward_pass_fails(vit):
    layers = models.prunable_layers(vit)
    bad = data.Batch(torch.zeros(2, 5, 5), torch.zeros(2, dtype=torch.int64))
    with pytest.raises(RuntimeError):
        hessians.layer_hessians(vit, layers, bad)
    assert all(not layer._forward_pre_hooks for _, layer in layers)


@pytest.mark.parametrize("name, floor", [("vit", 0.95), ("gpt", 4.5)])
def test_shipped_checkpoints_load_and_reach_their_stated_quality(name, floor):
    loaded = store.load_checkpoint(name)  # sha256 + config + strict load; no retraining
    assert loaded is not None, f"{name}: shipped checkpoint missing, stale or corrupt"
    model, record = loaded
    assert record["command"].startswith(f"python -m iobs train {name}")
    measured = P.evaluate(model, "test")
    if name == "vit":
        assert measured["accuracy"] >= record["quality"]["accuracy"] - 0.003
        assert measured["accuracy"] >= floor
    else:
        assert measured["perplexity"] <= record["quality"]["perplexity"] * 1.01
        assert measured["perplexity"] <= floor


def test_obs_at_half_sparsity_keeps_accuracy_within_3_points_and_beats_magnitude(vit):
    dense = P.evaluate(vit)["accuracy"]
    obs = P.evaluate(P.prune(vit, "obs", 0.5)[0])["accuracy"]
    mag = P.evaluate(P.prune(vit, "magnitude", 0.5)[0])["accuracy"]
    assert obs >= dense - 0.03
    assert obs > mag


def test_iobs_never_returns_a_worse_held_out_score_than_its_round_one(vit):
    obs_val = P.evaluate(P.prune(vit, "obs", 0.7)[0], "val")["accuracy"]
    pruned, report = P.prune(vit, "iobs", 0.7, rounds=3)
    rounds = report.rounds
    assert [r["round"] for r in rounds] == [1, 2, 3]
    assert rounds[0]["held_out"] == pytest.approx(obs_val)  # round 1 = one-shot OBS
    best = rounds[report.best_round - 1]
    assert best["held_out"] >= max(r["held_out"] for r in rounds)
    assert P.evaluate(pruned, "val")["accuracy"] == pytest.approx(best["held_out"])
    assert P.evaluate(pruned, "val")["accuracy"] >= obs_val


@pytest.mark.parametrize("method", ["magnitude", "obd", "obs"])
def test_two_four_pattern_holds_in_the_pruned_model(vit, method):
    pruned, report = P.prune(vit, method, 0.5, pattern="2:4")
    for _, layer in models.prunable_layers(pruned):
        nonzero = (layer.weight != 0).reshape(layer.out_features, -1, 4).sum(-1)
        assert (nonzero <= 2).all()
    assert all(r.sparsity == 0.5 for r in report.layers)


def test_prune_returns_a_copy_and_never_mutates_the_cached_model(vit):
    before = {k: v.clone() for k, v in vit.state_dict().items()}
    pruned, report = P.prune(vit, "magnitude-global", 0.6)
    assert pruned is not vit and P.load_model("vit") is vit
    assert all(torch.equal(before[k], v) for k, v in vit.state_dict().items())
    weights = torch.cat([layer.weight.flatten() for _, layer in models.prunable_layers(pruned)])
    assert (weights == 0).float().mean().item() == pytest.approx(0.6, abs=1e-4)
    assert json.loads(json.dumps(report.to_dict()))["method"] == "magnitude-global"


@pytest.mark.parametrize("call, word", [
    (lambda m: P.prune(m, "random", 0.5), "method"),
    (lambda m: P.prune(m, "obs", 1.5), "sparsity"),
    (lambda m: P.prune(m, "obs", 0.7, pattern="2:4"), "0.5"),
    (lambda m: P.prune(m, "magnitude-global", 0.5, pattern="2:4"), "pattern"),
    (lambda m: P.prune(m, "obs", 0.5, calibration=0), "calibration"),
    (lambda m: P.prune(m, "obs", 0.5, calibration=5000), "calibration"),
    (lambda m: P.prune(m, "iobs", 0.5, rounds=0), "rounds"),
    (lambda m: P.prune(m, "obs", 0.5, damping=-1.0), "damping"),
    (lambda m: P.evaluate(m, "dev"), "split"),
    (lambda m: P.load_model("bert"), "name"),
])
def test_invalid_arguments_raise_value_error_naming_the_parameter(vit, call, word):
    with pytest.raises(ValueError, match=word):
        call(vit)


def test_corrupt_or_missing_checkpoint_is_retrained_and_written_atomically(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setattr(store, "PACKAGE_DIR", tmp_path / "pkg")
    monkeypatch.setenv("IOBS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setitem(train.RECIPES, "vit", train.Recipe("vit", steps=3, batch=16))
    assert store.load_checkpoint("vit") is None  # missing
    _, record = store.train_and_save("vit")
    path = tmp_path / "pkg" / "vit.pt"
    assert record["sha256"] == store.sha256(path)
    assert store.load_checkpoint("vit") is not None
    assert not list((tmp_path / "pkg").glob(".*.tmp"))  # no temp file left behind
    path.write_bytes(path.read_bytes()[:-10])  # corrupt: sha256 mismatch
    assert store.load_checkpoint("vit") is None


def test_import_iobs_and_the_prune_cli_do_not_import_torch():
    code = ("import sys, iobs, iobs.prune.layerwise, iobs.cli.prune, iobs.viz.prune; "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_digits_read_without_sklearn_are_sklearns_digits_and_splits():
    from sklearn.datasets import load_digits

    images, target = data.load_digits()
    d = load_digits()
    assert np.array_equal(images, d.images) and np.array_equal(target, d.target)
    frozen = np.load(data.SPLIT_FILE, allow_pickle=False)
    fresh = data.split_indices(target)          # scikit-learn's split, as trained on
    assert all(np.array_equal(frozen[k], fresh[k]) for k in data.SPLITS)
    rows = np.concatenate([frozen[k] for k in data.SPLITS])
    assert sorted(rows) == list(range(len(target)))  # a partition of the 1797 images
    assert len(frozen["val"]) == data.VAL_DIGITS


def test_parameters_digest_is_the_same_for_a_copy_and_changes_with_one_weight(vit):
    import copy

    import torch

    twin = copy.deepcopy(vit)
    assert P.parameters_digest(twin) == P.parameters_digest(vit)
    with torch.no_grad():
        next(twin.parameters()).view(-1)[0] += 1e-3
    assert P.parameters_digest(twin) != P.parameters_digest(vit)


def test_loading_the_digits_does_not_import_sklearn():
    code = ("import sys; from iobs.prune import data; data.eval_batch('vit', 'test'); "
            "assert 'sklearn' not in sys.modules, 'sklearn was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_figures_are_built_from_plain_arrays():
    fig = figures.quality_figure([0.3, 0.5], {"obs": [0.97, 0.96]}, 0.972, "accuracy",
                                 selected=0.5, extra={"obs": (0.5, 0.95)})
    spec = fig.to_dict()
    assert [t["name"] for t in spec["data"]] == ["OBS / SparseGPT", "OBS / SparseGPT, 2:4"]
    dense, chosen = spec["layout"]["shapes"]
    assert dense["y0"] == dense["y1"] == 0.972 and chosen["x0"] == chosen["x1"] == 50.0
    rounds = [{"round": t, "calibration": 1.0, "held_out": h, "calibration_loss": 0.1,
               "held_out_loss": 0.2} for t, h in [(1, 0.9), (2, 0.95)]]
    data = figures.rounds_figure(rounds, 2, "accuracy").to_dict()["data"]
    stars = [t for t in data if t.get("marker", {}).get("symbol") == "star"]
    assert len(stars) == 2 and stars[0]["y"] == [0.95]
    assert stars[0]["name"] == "best held-out round (2)"
    masks = figures.masks_figure([np.ones((4, 8), bool)] * 3, ["a", "b", "c"]).to_dict()
    assert [t["z"]["dtype"] for t in masks["data"]] == ["u1"] * 3


def test_a_figure_s_numbers_and_titles_do_not_reach_the_next_one():
    """The builders fill a copy of a layout kept per labels: one call's dense line, digit
    titles and colours must not show in the next call's figure."""
    spec = figures.quality_figure([0.5], {"obs": [0.9]}, 0.8, "accuracy").to_dict()
    again = figures.quality_figure([0.5], {"obs": [0.9]}, 0.7, "accuracy").to_dict()
    assert spec["layout"]["shapes"][0]["y0"] == 0.8 and again["layout"]["shapes"][0]["y0"] == 0.7
    assert "0.8" in spec["layout"]["annotations"][0]["text"]
    images = np.zeros((2, 4, 4))
    wrong = figures.digits_figure(images, [1, 2], [1, 2], [1, 3]).to_dict()["layout"]
    right = figures.digits_figure(images, [1, 2], [1, 2], [1, 2]).to_dict()["layout"]
    assert [a["text"].endswith("✗") for a in wrong["annotations"]] == [False, True]
    assert wrong["annotations"][1]["font"]["color"] != right["annotations"][1]["font"]["color"]
    assert not any(a["text"].endswith("✗") for a in right["annotations"])


def test_page_runs_without_exception_and_draws_its_charts():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / "prune.py"), default_timeout=120).run()
    assert not at.exception
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"]
              for c in at.get("plotly_chart")]
    for word in ("Quality vs sparsity", "I-OBS(T)", "Masks", "reconstruction error",
                 "Test digits", "Sparsity is not speed"):
        assert any(word in t for t in titles), word
    at.radio(key="pr_pattern").set_value("2:4").run()  # with sparsity 50%: fine
    assert not at.exception and not at.error
    at.slider(key="pr_sparsity").set_value(70).run()  # 2:4 at 70%: a bad combination
    assert not at.exception
    assert "2:4" in at.error[0].value


def test_sweep_and_cli_report_plain_numbers(vit, capsys):
    from iobs.cli import prune as cli

    out = study.sweep(vit, sparsities=(0.5,), methods=("magnitude", "obs"))
    assert out["quality"]["obs"][0] > out["quality"]["magnitude"][0]
    assert cli.main(["prune", "vit", "obd", "0.5"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["method"] == "obd" and 0 < printed["pruned"]["accuracy"] <= 1


def test_iobs_runs_kept_round_by_round_give_every_smaller_and_larger_t_exactly(vit):
    """A T-round I-OBS run answers every T' <= T, and continuing it gives what a fresh
    T'' > T run gives: the same records, best round, masks, layer errors and weights."""
    def same(a, b):
        for key in ("test", "val", "best_round", "rounds"):
            assert a[key] == b[key], key
        untimed = [[{k: v for k, v in r.items() if k != "seconds"} for r in x["layers"]]
                   for x in (a, b)]      # the layers' kernel seconds are wall-clock times
        assert untimed[0] == untimed[1]
        assert all(np.array_equal(x, y) for x, y in zip(a["masks"], b["masks"], strict=True))
        assert a["state"].keys() == b["state"].keys()
        assert all(np.array_equal(a["state"][k], b["state"][k]) for k in a["state"])

    two = study.iobs_trajectory(vit, 0.6, rounds=2, seed=3)
    three = study.iobs_trajectory(vit, 0.6, rounds=3, seed=3, resume=two)
    assert [len(r["rounds"]) for r in (two, three)] == [2, 3]
    for t in (1, 2, 3):
        same(study.iobs_at(vit, three, t),
             study.run_method(vit, "iobs", 0.6, rounds=t, seed=3, keep_state=True))
    with pytest.raises(ValueError, match="rounds"):
        study.iobs_at(vit, two, 3)
    with pytest.raises(ValueError, match="resume"):
        P.prune(vit, "obs", 0.6, rounds=3, resume=(two["rounds"][-1]["state"], 2))


def test_rebuilt_model_is_the_pruned_model_without_a_second_prune(vit):
    """The page rebuilds a cached prune from its parameters: same weights, same outputs."""
    res = study.run_method(vit, "iobs", 0.6, rounds=2, keep_state=True)
    pruned, _ = P.prune(vit, "iobs", 0.6, rounds=2)
    rebuilt = study.rebuild(vit, res["state"])
    images = data.eval_batch("vit", "test").inputs[:32]
    with torch.no_grad():
        assert torch.equal(rebuilt(images)[0], pruned(images)[0])
    assert not any(p.requires_grad for p in rebuilt.parameters())
    assert P.evaluate(rebuilt)["accuracy"] == res["test"]


def test_page_rounds_change_reprunes_only_the_iobs_jobs(monkeypatch):
    """Rounds and the learning rate reach only I-OBS, whose runs are kept round by round:
    fewer rounds prune nothing, more rounds only continue the I-OBS runs (counted at the
    library calls), and a sparsity on the sweep prunes and measures nothing new."""
    from streamlit.testing.v1 import AppTest

    calls = []
    run_method, trajectory = study.run_method, study.iobs_trajectory
    monkeypatch.setattr(study, "run_method",
                        lambda model, method, *a, **k: calls.append(method)
                        or run_method(model, method, *a, **k))

    def continued(model, sparsity, *, rounds, resume=None, **k):
        calls.append(("iobs", rounds, len(resume["rounds"]) if resume else 0))
        return trajectory(model, sparsity, rounds=rounds, resume=resume, **k)

    monkeypatch.setattr(study, "iobs_trajectory", continued)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["seed"] = "7"          # a seed no other test prunes with: cold caches
    at.switch_page("pages/prune.py").run()
    assert at.number_input(key="seed").value == 7 and not at.exception
    assert set(calls) == set(P.METHODS) - {"iobs"} | {("iobs", 5, 0)}
    calls.clear()
    at.slider(key="pr_rounds").set_value(3).run()     # a prefix of the runs: a lookup
    assert not at.exception and calls == []
    at.slider(key="pr_rounds").set_value(6).run()     # one more round on every run
    assert not at.exception and calls and set(calls) == {("iobs", 6, 5)}
    calls.clear()
    measured = []
    speed = study.speed
    monkeypatch.setattr(study, "speed", lambda *a, **k: measured.append(1) or speed(*a, **k))
    at.slider(key="pr_sparsity").set_value(80).run()   # on the sweep: nothing new to prune
    assert not at.exception and calls == []
    # nor to measure: the previous run measured every position of the sweep once
    assert measured == []
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"]
              for c in at.get("plotly_chart")]
    assert any(t.startswith("Sparsity is not speed: 80% zeros") for t in titles), titles
