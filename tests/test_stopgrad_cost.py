"""StopGradFlow.cost(): the estimated solver steps of a Model B point (OURS, a stiffness model
with calibrated constants, simulations.flows.stopgrad_cost), by which the sweep plan sorts
points into balanced chunks.  Checked against step counts measured on the PD_modelB grids."""

import dataclasses

import numpy as np
import pytest
from scipy.stats import spearmanr

from paper_repro.minimal_collapse.model_b import MODELB_PHASE, _pd_fields, pd_grid
from simulations.flows.stopgrad import StopGradFlow
from simulations.flows.stopgrad_cost import CONSTANTS, estimated_steps
from minimal_models import coupling
from minimal_models import stopgrad as model_b
from simulations.flows.stopgrad_cost import difference_mode_frustrations
from simulations.sweep import SweepSpec
from simulations.sweep.plan import Chunk, Plan, plan_of, utilisation

# num_steps of the PD_modelB quick grid (modelB_phase: tsit5-lean, rtol 1e-8, T = 100), rows
# alpha, columns frustration as pd_grid(quick=True) lists them; measured 2026-12-07 (solver and
# flow code of commit 9ac6123) with `COLLAPSE_LAB_CACHE_DIR=off collapse-lab repro PD_modelB
# --quick`: the dataset's num_steps
QUICK_STEPS = np.array("""
    327 316 309 315 314 315 314 315 320 319 319 319 325 324 328 324 324 325 326 329
    477 436 417 425 425 428 427 431 437 442 441 443 452 453 461 461 451 438 425 428
    563 482 446 452 456 465 463 471 473 479 490 491 498 499 507 510 514 510 515 514
    659 544 504 492 489 504 490 498 511 519 536 540 545 551 549 544 553 550 554 550
    744 605 570 534 548 544 549 557 565 558 574 576 581 588 591 596 596 593 594 597
    800 675 635 594 565 566 583 585 581 596 601 608 615 618 621 629 624 637 637 635
    844 735 670 657 601 579 597 616 624 630 634 629 642 645 653 659 658 668 675 669
    874 787 729 704 632 617 629 662 642 645 660 672 680 687 693 692 705 694 699 706
    902 825 784 748 679 712 710 710 705 682 720 726 710 728 722 707 743 740 739 747
    917 856 819 797 733 733 712 737 721 723 746 758 728 769 736 748 758 793 792 792
    930 890 856 846 788 788 764 783 760 778 801 767 791 823 800 821 826 834 832 840
    938 921 910 887 833 838 826 835 828 827 804 801 825 834 815 861 863 860 887 883
    945 934 923 910 874 887 881 876 880 875 849 852 870 891 877 869 877 894 889 890
    944 945 962 944 909 913 919 916 926 908 901 905 926 941 953 927 940 957 942 932
    947 952 987 941 962 939 952 943 956 948 940 944 962 985 978 969 996 1016 992 986
    946 955 987 947 972 963 974 970 993 972 960 971 990 1012 1060 1018 1031 1064 1042 1037
    942 962 993 950 989 990 994 997 996 995 986 1002 1008 1046 1089 1063 1064 1100 1105 1072
    952 968 992 972 980 1001 1008 1011 1015 1021 1010 1026 1041 1056 1107 1092 1090 1125 1128 1096
    952 965 997 974 1001 1008 1002 1019 1031 1031 1035 1051 1075 1092 1122 1103 1117 1154 1147 1134
    952 970 998 984 1015 1020 1033 1041 1049 1055 1064 1076 1103 1124 1149 1139 1166 1201 1193 1183
""".split(), dtype=float).reshape(20, 20)

# num_steps at the full grid's settings (T = 3000, the same solver) on a random 16 x 10 sub-grid
# of the 40 x 40 grid (numpy default_rng(2027) picks the rows and columns) that the constants
# were not fitted on; measured the same day with run_sweep on that sub-grid
SUB_ALPHAS = (0.0, 0.38415179, 0.62073098, 0.85615501, 0.91141332, 0.93048072, 0.96640182,
              0.97363349, 0.99620731, 0.99702365, 0.99766428, 0.99930481, 0.99945444,
              0.99966402, 0.9999, 1.0)
SUB_PS = (0.061538, 0.071795, 0.112821, 0.184615, 0.215385, 0.235897, 0.276923, 0.328205,
          0.348718, 0.379487)
SUB_STEPS = np.array([
    (5752, 5735, 5835, 6110, 6092, 6099, 6285, 6304, 6300, 6359),
    (9071, 9214, 9531, 10028, 10222, 10322, 10564, 10740, 10808, 10892),
    (10167, 10312, 10699, 11237, 11496, 11610, 11880, 12095, 12169, 12294),
    (12105, 12258, 12722, 13347, 13630, 13769, 14113, 14384, 14475, 14616),
    (12913, 13046, 13538, 14207, 14546, 14707, 15093, 15404, 15473, 15695),
    (13168, 13352, 13861, 14568, 14913, 15079, 15479, 15806, 15890, 16083),
    (13935, 14035, 14506, 15245, 15660, 15884, 16313, 16638, 16776, 16995),
    (14119, 14193, 14654, 15426, 15828, 16052, 16511, 16861, 17000, 17232),
    (17150, 15947, 15829, 16367, 16671, 16894, 17363, 17719, 17882, 18123),
    (17990, 16413, 16153, 16574, 16831, 17026, 17477, 17840, 17988, 18220),
    (18974, 16977, 16555, 16859, 17054, 17202, 17670, 17985, 18131, 18325),
    (23334, 21579, 20424, 19732, 19302, 19196, 19636, 19731, 19810, 19705),
    (23845, 22397, 21366, 20735, 20113, 19928, 20379, 20409, 20452, 20225),
    (24648, 23607, 23201, 22730, 22127, 21860, 22334, 22253, 22227, 21706),
    (25592, 25125, 25401, 25469, 25350, 25374, 26197, 26457, 26668, 26424),
    (26020, 25820, 26448, 26836, 26962, 27164, 28216, 28725, 29092, 29274),
], dtype=float)

# T = 3000, exact SG vs full gradient: {(alpha, frustration): steps}
ENDS_STEPS = {(1.0, 0.0): 25113, (0.0, 0.0): 6553, (1.0, 0.2): 27314, (0.0, 0.2): 6112}

# A rank correlation of the grid order itself (alpha-major) with QUICK_STEPS is 0.980, and
# random 3 % log errors on the true steps (rank correlation ~0.992) leave a utilisation of only
# ~0.90: an estimate that orders the chunks well must correlate above 0.99
MIN_RANK_CORRELATION = 0.99
MIN_UTILISATION = 0.9


def quick_costs():
    spec = MODELB_PHASE.spec(True)
    return np.array([dataclasses.replace(spec.model, **p).cost() for p in spec.points()])


def plan_in_order(order, size):
    """A one-group plan that computes the points in ``order`` (grid order: arange)."""
    order = np.asarray(order)
    chunks = tuple(Chunk((), tuple(int(i) for i in order[s:s + size]), s)
                   for s in range(0, len(order), size))
    return Plan(((),), chunks, np.argsort(order))


def test_the_table_is_the_quick_grid():
    alphas, ps = pd_grid(True)
    spec = MODELB_PHASE.spec(True)
    assert QUICK_STEPS.shape == (len(alphas), len(ps)) == tuple(len(v) for _, v in spec.axes)
    assert spec.chunk_size == 50 and spec.model.ode_solver == "tsit5-lean"


VARIANTS = [
    {}, {"alpha": 0.0}, {"alpha": 0.5, "frustration": 0.4}, {"frustration": 0.0},
    {"preset": "unit-sum"},
    {"preset": "custom", "nu": 0.3, "eta_x": 2.0, "eta_y": 0.5, "eta_W": 4.0},
    {"head": "sample_side_only"}, {"head": "shared_both_sg_label_branch", "alpha": 0.3},
    {"train_W": False}, {"kind": "clean"}, {"kind": "soft", "q": 0.3},
    {"init": "iid"}, {"init": "zero_labels"}, {"W_init": "gaussian", "s_W": 0.0},
    {"init_scale": 1e-6}, {"n_per_class": 1, "n_classes": 2, "dim": 1},
    {"t_max": 1e-2, "t_min": 1e-4}, {"t_max": 1e6, "n_times": 3},
]


@pytest.mark.parametrize("fields", VARIANTS, ids=[str(v) or "default" for v in VARIANTS])
def test_cost_is_a_positive_finite_float(fields):
    c = StopGradFlow(**fields).cost()
    assert isinstance(c, float) and np.isfinite(c) and c > 0


def test_cost_grows_with_the_horizon():
    for a in (0.0, 0.9, 0.999, 1.0):
        for p in (0.0, 0.05, 0.4):
            costs = [StopGradFlow(**{**_pd_fields(False), "alpha": a, "frustration": p,
                                     "t_max": T}).cost() for T in (1.0, 10.0, 100.0, 3e3, 3e4)]
            assert np.all(np.diff(costs) > 0), (a, p, costs)


@pytest.mark.parametrize("quick", [True, False])
def test_cost_grows_as_alpha_goes_to_one_on_the_pd_grids(quick):
    alphas, ps = pd_grid(quick)
    base = StopGradFlow(**_pd_fields(quick))
    for p in ps[::3]:
        costs = [dataclasses.replace(base, alpha=a, frustration=p).cost() for a in alphas]
        assert np.all(np.diff(costs) > 0), (p, costs)


def test_cost_reproduces_the_measured_ratio_of_exact_sg_to_full_gradient_at_T_3000():
    base = StopGradFlow(**_pd_fields(False))
    for p in (0.0, 0.2):
        ratio = (dataclasses.replace(base, alpha=1.0, frustration=p).cost()
                 / dataclasses.replace(base, alpha=0.0, frustration=p).cost())
        measured = ENDS_STEPS[(1.0, p)] / ENDS_STEPS[(0.0, p)]  # 3.8 and 4.5
        assert ratio == pytest.approx(measured, rel=0.1)


def sub_grid_spec(chunk_size):
    return SweepSpec("sub", StopGradFlow(**_pd_fields(False)),
                     axes=[("alpha", SUB_ALPHAS), ("frustration", SUB_PS)], chunk_size=chunk_size)


def test_cost_rank_correlates_with_the_measured_steps():
    rho = spearmanr(quick_costs(), QUICK_STEPS.ravel())[0]
    assert rho >= MIN_RANK_CORRELATION, rho
    spec = sub_grid_spec(5)
    costs = [dataclasses.replace(spec.model, **p).cost() for p in spec.points()]
    rho_full = spearmanr(costs, SUB_STEPS.ravel())[0]
    assert rho_full >= MIN_RANK_CORRELATION, rho_full


def test_the_plan_ordered_by_cost_beats_the_grid_order_at_T_3000():
    # 32 chunks of 5 on the 160 points, as the full grid's plan has 32 chunks of 50
    spec, steps = sub_grid_spec(5), SUB_STEPS.ravel()
    u = utilisation(plan_of(spec), 5, steps)
    assert u > utilisation(plan_in_order(np.arange(steps.size), 5), 5, steps) + 0.01
    assert u >= 0.965, u  # measured 0.976 (grid order 0.960, true order 0.984)


def test_the_plan_ordered_by_cost_fills_the_chunks_of_the_quick_grid():
    spec = MODELB_PHASE.spec(True)
    steps = QUICK_STEPS.ravel()
    u = utilisation(plan_of(spec), spec.chunk_size, steps)
    assert u >= MIN_UTILISATION, u
    # the bound is not met by the grid order (what a constant cost gives) and is met by the
    # true order: it measures the ordering
    n, size = steps.size, spec.chunk_size
    assert utilisation(plan_in_order(np.arange(n), size), size, steps) < MIN_UTILISATION
    assert utilisation(plan_in_order(np.argsort(steps, kind="stable"), size), size,
                       steps) >= MIN_UTILISATION
    assert utilisation(plan_in_order(np.lexsort((np.arange(n), quick_costs())), size),
                       size, steps) == pytest.approx(u)


def test_a_constant_cost_fails_the_bounds():
    steps = QUICK_STEPS.ravel()
    flat = np.full(steps.size, 7.0)
    with np.errstate(invalid="ignore"), pytest.warns(Warning):
        rho = spearmanr(flat, steps)[0]
    assert not rho >= MIN_RANK_CORRELATION
    order = np.lexsort((np.arange(steps.size), flat))  # the plan's tie-break: grid order
    assert utilisation(plan_in_order(order, 50), 50, steps) < MIN_UTILISATION


@pytest.mark.parametrize("p", [0.0, 0.01, 0.1, 0.4])
def test_difference_modes_are_the_label_walk_spectrum_without_its_common_mode(p):
    A = coupling.coupling_matrix(4, 50, p, seed=0)
    phi = difference_mode_frustrations(A)
    tau = np.sort(np.linalg.eigvals(model_b.label_walk(A)).real)[:-1]
    np.testing.assert_allclose(np.sort(phi), np.sort(1.0 - tau), atol=1e-12)
    if p == 0.0:
        np.testing.assert_allclose(phi, 0.0, atol=1e-12)  # nothing frustrated: no collapse
    if p == 0.01:  # one frustrated sample per class, partners 0-3, 1-2, 2-1, 3-0: two pieces
        assert [set(np.nonzero(A[k * 50])[0]) for k in range(4)] == [{0, 3}, {1, 2}, {1, 2},
                                                                     {0, 3}]
        assert np.sum(phi < 1e-12) == 1 and np.all(phi[:2] > 0.03)


def test_constants_replace_the_calibration():
    m = StopGradFlow(**_pd_fields(False))
    assert estimated_steps(m) == m.cost()
    slower = {**CONSTANTS, "c_stab": 2 * CONSTANTS["c_stab"]}
    assert estimated_steps(m, slower) > m.cost()


@pytest.mark.slow
def test_the_tables_still_describe_the_solver():
    """Re-measure four corners of the quick grid: the step counts the tables hold still come
    out of the solver (a different grid pads the reduced state differently, which moves the
    error norm and so the count a little)."""
    from simulations.sweep import run_sweep

    alphas, ps = pd_grid(True)
    spec = SweepSpec("corners", StopGradFlow(**_pd_fields(True)),
                     axes=[("alpha", (alphas[0], alphas[-1])), ("frustration", (ps[0], ps[-1]))],
                     chunk_size=4)
    got = run_sweep(spec, progress=False)["num_steps"].values
    want = QUICK_STEPS[np.ix_([0, -1], [0, -1])]
    np.testing.assert_allclose(got, want, rtol=0.03)
