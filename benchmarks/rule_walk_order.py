"""How often the loss increase falls along the rule walk of *Inside one projection*.

The page walks the projection rules magnitude -> OBD -> OBS saliency -> greedy OBC -> exact
on the Newton point of a first I-OBS step (a noisy least-squares fit on a correlated
design). Only the exact search is guaranteed lowest; this script counts, over seeds, the
settings where the increase does *not* fall at every step of the walk, and where some rule
beats exact (which must never happen).

    python benchmarks/rule_walk_order.py [--seeds 100] [--d 12] [--k 4] [--rho 0.5]
                                         [--noise 0.5] [--random-settings]

``--random-settings`` draws d, k, rho and noise per seed from the page's slider ranges
(d <= 20 so that the exact search runs) instead of the page defaults.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import iobs
from iobs.research import lessons

NOISES = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)       # the page's noise choices


def increases(d, k, rho, noise, seed):
    """The loss increase of each rule, in the page's order (the page's own computation)."""
    prob = iobs.make_problem("correlated", d=d, n=4 * d, k_star=k, rho=rho, noise=noise,
                             seed=seed)
    H = prob.X.T @ prob.X / prob.n
    z = np.linalg.solve(H, prob.X.T @ prob.y / prob.n)
    w = lessons.rule_walk(H, z, k)
    return [w[r]["increase"] for r in lessons.RULES]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--d", type=int, default=12)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--rho", type=float, default=0.5)
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument("--random-settings", action="store_true")
    a = ap.parse_args(argv)
    rng = np.random.default_rng(12345)
    not_falling, exact_beaten, where = 0, 0, {}
    for seed in range(a.seeds):
        d, k, rho, noise = a.d, a.k, a.rho, a.noise
        if a.random_settings:
            d = int(rng.integers(4, 21))
            k = int(rng.integers(1, d))
            rho, noise = float(rng.uniform(0.0, 0.99)), float(rng.choice(NOISES))
        inc = increases(d, k, rho, noise, seed)
        tol = 1e-12 * max(1.0, max(inc))
        ups = [f"{lessons.RULES[i]} -> {lessons.RULES[i + 1]}" for i in range(len(inc) - 1)
               if inc[i + 1] > inc[i] + tol]
        not_falling += bool(ups)
        exact_beaten += min(inc[:-1]) < inc[-1] - tol
        for u in ups:
            where[u] = where.get(u, 0) + 1
    setting = "random settings" if a.random_settings else \
        f"d = {a.d}, k = {a.k}, rho = {a.rho}, noise = {a.noise}"
    print(f"{setting}: the increase does not fall at every step in {not_falling} of "
          f"{a.seeds} seeds; a rule beats exact in {exact_beaten}")
    for u, n in sorted(where.items(), key=lambda kv: -kv[1]):
        print(f"  rises at {u}: {n}")


if __name__ == "__main__":
    main()
