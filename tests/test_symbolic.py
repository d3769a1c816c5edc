"""Symbolic verification (sympy) of the closed forms the Hamiltonian geometry rests on."""

import sympy as sp
import pytest


@pytest.mark.parametrize("d", [2, 3])
def test_maxent_lagrange_optimum_is_c_over_d_hinv(d):
    # maximise sum log s_i (Gaussian entropy in H's eigenbasis) subject to sum h_i s_i = c
    h = sp.symbols(f"h1:{d + 1}", positive=True)
    s = sp.symbols(f"s1:{d + 1}", positive=True)
    c, mu = sp.symbols("c mu", positive=True)
    lagrangian = sum(sp.log(si) for si in s) - mu * (sum(hi * si for hi, si in zip(h, s)) - c)
    solution = sp.solve([sp.diff(lagrangian, v) for v in (*s, mu)], (*s, mu), dict=True)
    assert len(solution) == 1
    for hi, si in zip(h, s):
        assert sp.simplify(solution[0][si] - c / (d * hi)) == 0
    # and it is a maximum: the Hessian in s is -diag(1/s^2), negative definite


@pytest.mark.parametrize("d", [2, 3])
def test_minimax_equalises_and_am_gm_lower_bound(d):
    h = sp.symbols(f"h1:{d + 1}", positive=True)
    c = sp.symbols("c", positive=True)
    s_star = [c / (d * hi) for hi in h]
    assert sp.simplify(sum(hi * si for hi, si in zip(h, s_star)) - c) == 0  # feasible
    assert all(sp.simplify(hi * si - c / d) == 0 for hi, si in zip(h, s_star))  # equalised
    # any feasible diagonal has max_i h_i s_i >= mean_i h_i s_i = c/d, so V(Sigma) >= c/d
    s = sp.symbols(f"s1:{d + 1}", positive=True)
    mean = sum(hi * si for hi, si in zip(h, s)) / d
    assert sp.simplify(mean.subs(dict(zip(s, s_star))) - c / d) == 0


def _leapfrog_jacobian(S, h):
    n = S.shape[0]
    eye, zero = sp.eye(n), sp.zeros(n)
    kick = sp.Matrix(sp.BlockMatrix([[eye, zero], [-h / 2 * S, eye]]))
    drift = sp.Matrix(sp.BlockMatrix([[eye, h * eye], [zero, eye]]))
    return kick * drift * kick


@pytest.mark.parametrize("n", [1, 2])
def test_leapfrog_jacobian_is_symplectic_for_any_symmetric_hessian(n):
    h = sp.symbols("h", real=True)
    entries = sp.symbols(f"a0:{n * n}", real=True)
    A = sp.Matrix(n, n, entries)
    S = (A + A.T) / 2  # a general symmetric Hessian
    M = _leapfrog_jacobian(S, h)
    J = sp.Matrix(sp.BlockMatrix([[sp.zeros(n), sp.eye(n)], [-sp.eye(n), sp.zeros(n)]]))
    assert sp.simplify(M.T * J * M - J) == sp.zeros(2 * n)
    assert sp.simplify(M.det() - 1) == 0
    # explicit Euler's Jacobian is not symplectic: det = det(I + h^2 S)
    E = sp.Matrix(sp.BlockMatrix([[sp.eye(n), h * sp.eye(n)], [-h * S, sp.eye(n)]]))
    assert sp.simplify(E.det() - (sp.eye(n) + h**2 * S).det()) == 0


@pytest.mark.parametrize("scheme", ["kdk", "dkd"])
def test_modified_hamiltonian_h2_term_by_series(scheme):
    q, p, h, a, b = sp.symbols("q p h a b", real=True)
    V = a * q**2 + b * q**3  # anharmonic: the Hessian depends on q
    g, Vqq = sp.diff(V, q), sp.diff(V, q, 2)
    if scheme == "kdk":
        p1 = p - h / 2 * g
        q1 = q + h * p1
        p2 = p1 - h / 2 * g.subs(q, q1)
        end = (q1, p2)
        coeffs = (sp.Rational(1, 12), -sp.Rational(1, 24))
    else:
        qh = q + h / 2 * p
        p1 = p - h * g.subs(q, qh)
        end = (qh + h / 2 * p1, p1)
        coeffs = (-sp.Rational(1, 24), sp.Rational(1, 12))
    H = p**2 / 2 + V
    shadow = H + h**2 * (coeffs[0] * p**2 * Vqq + coeffs[1] * g**2)

    def one_step_error(F):
        # V is a polynomial, so the one-step change is a polynomial in h: expand exactly
        return sp.expand(F.subs({q: end[0], p: end[1]}, simultaneous=True) - F)

    err_H, err_shadow = one_step_error(H), one_step_error(shadow)
    # the errors are expanded polynomials, so a vanishing coefficient is literally 0
    assert err_H.coeff(h, 3) != 0  # H itself drifts at O(h^3) per step
    for order in range(0, 5):  # the shadow Hamiltonian is conserved through O(h^4)
        assert err_shadow.coeff(h, order) == 0
    # the other scheme's coefficients do not cancel the error (negative control)
    wrong = H + h**2 * (coeffs[1] * p**2 * Vqq + coeffs[0] * g**2)
    assert one_step_error(wrong).coeff(h, 3) != 0
