"""The fast least-squares path: X read through iobs.design (never copied, centred inside the
products), the working-set block (float32 when large, reused between steps), the
restricted Newton step that sets the coefficients, and the stops a user's fit relies on."""

import tracemalloc

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import iobs
from iobs import backend
from iobs.design import Design, scan
from iobs.linalg import cholesky_inverse, cholesky_solver
from iobs.models import LeastSquares, Smooth
from iobs.projections import obs_correction, top_k_mask
from iobs.stopping import interpolates


@pytest.fixture(params=["F", "C"])
def data(request):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 30)) * rng.uniform(0.5, 3.0, 30) + rng.uniform(-5, 5, 30)
    return np.asfortranarray(X) if request.param == "F" else np.ascontiguousarray(X)


def test_products_equal_those_of_the_centred_copy(data):
    c = data.mean(axis=0)
    Xc = data - c
    D = Design(data, c)
    rng = np.random.default_rng(1)
    dense, sparse = rng.standard_normal(30), np.zeros(30)
    sparse[[3, 17]] = [1.5, -2.0]
    r, V, R = rng.standard_normal(40), rng.standard_normal((30, 4)), rng.standard_normal((40, 3))
    np.testing.assert_allclose(D.matvec(dense), Xc @ dense, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(D.matvec(sparse), Xc @ sparse, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(D.matvec(V), Xc @ V, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(D.rmatvec(r), Xc.T @ r, rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(D.rmatvec(R), Xc.T @ R, rtol=1e-12, atol=1e-11)
    idx = np.array([1, 4, 9, 20])
    np.testing.assert_allclose(D.columns(idx), Xc[:, idx], atol=1e-13)
    np.testing.assert_allclose(D.outer(), Xc @ Xc.T, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(D.dense_gram(), Xc.T @ Xc, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(D.sq_norms(), (Xc * Xc).sum(0), rtol=1e-12)
    before = data.copy()
    D.columns(idx)
    D.gram(idx)
    assert np.array_equal(data, before)                  # X is never written


def test_working_set_gram_reuses_shared_columns_exactly(data):
    c = data.mean(axis=0)
    Xc = data - c
    D = Design(data, c)
    sets = [np.arange(0, 12), np.r_[0:10, 12:14], np.r_[0:10, 12:14], np.r_[2:12, 20:25]]
    for idx in sets:
        XW, G = D.gram(idx)
        np.testing.assert_allclose(G, Xc[:, idx].T @ Xc[:, idx], rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(XW, Xc[:, idx], atol=1e-13)
    XW, G = D.gram(sets[-1], low=True)
    assert G.dtype == np.float32
    np.testing.assert_allclose(G, Xc[:, sets[-1]].T @ Xc[:, sets[-1]], rtol=2e-5, atol=1e-3)


def test_scan_finds_means_constant_columns_and_non_finite_values():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((50, 6))
    X[:, 1] = 7.25                      # constant: dead with an intercept
    X[:, 3] = 0.0                       # zero: dead either way
    X[:, 4] = 0.0
    X[33, 4] = 1e-9                     # nearly zero but not constant: alive
    mean, dead = scan(X, center=True)
    np.testing.assert_allclose(mean, X.mean(0), rtol=1e-14, atol=1e-15)
    assert dead.tolist() == [False, True, False, True, False, False]
    mean0, dead0 = scan(X, center=False)
    assert not mean0.any() and dead0.tolist() == [False, False, False, True, False, False]
    for bad in (np.nan, np.inf):
        Y = X.copy()
        Y[10, 2] = bad
        with pytest.raises(ValueError, match="X must contain only finite"):
            scan(Y, center=True)


def test_fit_holds_no_copy_of_x_and_gives_the_same_fit_for_either_order():
    prob = iobs.make_problem("gaussian", n=600, d=3000, k_star=20, seed=3)
    XF = np.asfortranarray(prob.X)
    XC = np.ascontiguousarray(prob.X)
    keep = XC.copy()
    iobs.fit(XF, prob.y, k=20)                                # warm imports and caches
    tracemalloc.start()
    rC = iobs.fit(XC, prob.y, k=20)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rF = iobs.fit(XF, prob.y, k=20)
    assert peak < 0.5 * XC.nbytes, f"fit allocated {peak / XC.nbytes:.2f} x size(X)"
    assert np.array_equal(XC, keep)                           # not changed either
    assert rC.converged and rF.converged
    np.testing.assert_allclose(rC.coef, rF.coef, atol=1e-12)
    err = np.linalg.norm(rC.coef - prob.theta_star) / np.linalg.norm(prob.theta_star)
    assert err < 1e-12 and abs(rC.intercept) < 1e-12


def test_float32_block_steers_but_the_answer_is_float64_exact(monkeypatch):
    import iobs.models as models

    prob = iobs.make_problem("gaussian", n=500, d=2000, k_star=60, seed=4)   # |W| = 180
    y = prob.y + 0.01 * np.random.default_rng(5).standard_normal(prob.n)      # noisy
    r32 = iobs.fit(prob.X, y, k=60)
    monkeypatch.setattr(models, "FLOAT32_BLOCK", 10**9)
    r64 = iobs.fit(prob.X, y, k=60)
    assert r32.converged and r64.converged
    assert np.array_equal(r32.support, r64.support)
    np.testing.assert_allclose(r32.coef, r64.coef, rtol=0, atol=1e-10)
    S = np.flatnonzero(r32.support)                           # the least-squares fit on S
    Xc = prob.X - prob.X.mean(0)
    ls = np.linalg.lstsq(Xc[:, S], y - y.mean(), rcond=None)[0]
    np.testing.assert_allclose(r32.coef[S], ls, rtol=1e-9, atol=1e-11)


def test_newton_on_is_the_obs_correction_of_the_newton_point():
    rng = np.random.default_rng(6)
    prob = iobs.make_problem("gaussian", n=80, d=20, k_star=4, seed=6)
    theta = np.zeros(20)
    theta[[1, 5, 8, 13]] = rng.standard_normal(4)
    W = np.array([1, 2, 5, 8, 11, 13, 17])
    Q = np.array([2, 5, 11, 13])
    for model in (LeastSquares(prob, 0.05), Smooth(prob, 0.05)):
        g = model.grad(theta)
        H = model.hessian(model.newton_point(theta, 0.7))           # damped, dense
        HWW = H[np.ix_(W, W)]
        z = theta[W] - 0.7 * np.linalg.solve(HWW, g[W])
        keep = np.isin(W, Q)
        want = np.zeros(20)
        want[W] = obs_correction(z, HWW, keep)
        np.testing.assert_allclose(model.newton_on(theta, g, Q, 0.7), want, rtol=1e-10,
                                   atol=1e-12)
        Li = model.block_factor(theta, W)
        np.testing.assert_allclose(Li.T @ Li, np.linalg.inv(HWW), rtol=1e-9, atol=1e-10)


def test_newton_on_leaves_the_residual_of_its_point_for_the_next_loss():
    """The residual newton_on keeps (from its gathered block) is the one a fresh product
    gives: the loss and the next gradient read it instead of gathering the support again."""
    rng = np.random.default_rng(8)
    prob = iobs.make_problem("gaussian", n=80, d=20, k_star=4, seed=6)
    c = prob.X.mean(0)
    m = LeastSquares(prob, 0.05, center=c)
    theta = np.zeros(20)
    theta[[1, 5, 8, 13]] = rng.standard_normal(4)
    new = m.newton_on(theta, m.grad(theta), np.array([2, 5, 11, 13]), 0.7)
    want = (prob.X - c) @ new - prob.y
    np.testing.assert_allclose(m.residual(new), want, rtol=0, atol=1e-12)
    assert m.loss(new) == pytest.approx(0.5 * want @ want / prob.n, rel=1e-12)


def test_cholesky_solver_solves_and_refuses_indefinite():
    rng = np.random.default_rng(9)
    A = rng.standard_normal((40, 9))
    H = A.T @ A / 40 + 0.1 * np.eye(9)
    b = rng.standard_normal(9)
    np.testing.assert_allclose(cholesky_solver(H.copy()) @ b, np.linalg.solve(H, b),
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(np.linalg.LinAlgError):
        cholesky_solver(H - 2.0 * np.eye(9))


def test_a_singular_block_is_rescued_not_fatal():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((200, 40))
    X[:, 7] = X[:, 3]                                         # duplicated column
    y = 2.0 * X[:, 3] - X[:, 10] + 0.5 * X[:, 22]
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")           # no numerical-trouble warning
        r = iobs.fit(X, y, k=3, damping=0.0)
    assert r.converged, r.stopped
    np.testing.assert_allclose(X @ r.coef + r.intercept, y, atol=1e-9)


def test_interpolation_stops_exact_data_and_only_exact_data():
    prob = iobs.make_problem("gaussian", n=300, d=900, k_star=10, seed=8)
    exact = iobs.fit(prob.X, prob.y, k=10)
    assert exact.converged and "reproduces y" in exact.stopped
    noisy = iobs.fit(prob.X, prob.y + 0.05 * np.random.default_rng(9).standard_normal(300),
                     k=10)
    assert noisy.converged and "reproduces y" not in noisy.stopped
    assert interpolates(1e-31, 1.0, tol=1e-6) and not interpolates(1e-17, 1.0, tol=1e-6)


def test_cholesky_inverse_in_both_precisions_and_refuses_indefinite():
    rng = np.random.default_rng(10)
    A = rng.standard_normal((50, 12))
    H = A.T @ A / 50 + 0.1 * np.eye(12)
    for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-4)):
        Li = cholesky_inverse(H.astype(dtype))
        assert Li.dtype == dtype and np.allclose(np.triu(Li, 1), 0.0)
        np.testing.assert_allclose(Li.T @ Li, np.linalg.inv(H), rtol=tol, atol=tol)
    with pytest.raises(np.linalg.LinAlgError):
        cholesky_inverse(H - 2.0 * np.eye(12))


def test_large_loops_keep_other_blas_pools_on_one_thread():
    numpy_pool = [i for i in threadpool_info() if i["user_api"] == "blas"
                  and i["filepath"].startswith(np.__file__.rsplit("/", 1)[0])]
    with backend.blas_threads(10**4, 10**4):
        info = [i for i in threadpool_info() if i["user_api"] == "blas"]
    others = [i for i in info if not i["filepath"].startswith(np.__file__.rsplit("/", 1)[0])]
    assert all(i["num_threads"] == 1 for i in others)
    ours = [i for i in info if i["filepath"].startswith(np.__file__.rsplit("/", 1)[0])]
    assert [i["num_threads"] for i in ours] == [i["num_threads"] for i in numpy_pool]


def test_working_set_step_matches_its_definition():
    """One iobs-ws step against the formulas of its docstring, computed densely."""
    prob = iobs.make_problem("correlated", n=120, d=60, k_star=5, seed=11)
    m = LeastSquares(prob, 0.0)
    theta = np.zeros(60)
    theta[[0, 9, 30, 41, 52]] = [1.0, -0.5, 0.3, 0.8, -1.2]
    H = prob.X.T @ prob.X / prob.n
    g = H @ theta - prob.X.T @ prob.y / prob.n
    score = np.where(theta != 0, np.inf, np.abs(g))
    W = np.flatnonzero(top_k_mask(score, 15))
    HWW = H[np.ix_(W, W)]
    Hi = np.linalg.inv(HWW)
    z = theta[W] - Hi @ g[W]
    keep = top_k_mask(z * z / np.diagonal(Hi), 5)
    want = np.zeros(60)
    want[W] = obs_correction(z, HWW, keep)
    np.testing.assert_allclose(iobs.METHODS["iobs-ws"].step(theta, m, 5, 1.0), want,
                               rtol=1e-9, atol=1e-11)
