"""Symbolic verification (sympy) of the closed forms the Hamiltonian geometry rests on, and of
the library against exact sympy derivatives (step Jacobians, shadow Hamiltonians)."""

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


def _shear_product(S, h):
    """KDK Jacobian as the product kick * drift * kick of spec §2.12 (a symbolic identity)."""
    n = S.shape[0]
    eye, zero = sp.eye(n), sp.zeros(n)
    kick = sp.Matrix(sp.BlockMatrix([[eye, zero], [-h / 2 * S, eye]]))
    drift = sp.Matrix(sp.BlockMatrix([[eye, h * eye], [zero, eye]]))
    return kick * drift * kick


@pytest.mark.parametrize("n", [1, 2])
def test_leapfrog_shear_product_is_symplectic_for_any_symmetric_hessian(n):
    # the algebra behind Thm 4.4: the library's leapfrog is compared with it below
    h = sp.symbols("h", real=True)
    entries = sp.symbols(f"a0:{n * n}", real=True)
    A = sp.Matrix(n, n, entries)
    S = (A + A.T) / 2  # a general symmetric Hessian
    M = _shear_product(S, h)
    J = sp.Matrix(sp.BlockMatrix([[sp.zeros(n), sp.eye(n)], [-sp.eye(n), sp.zeros(n)]]))
    assert sp.simplify(M.T * J * M - J) == sp.zeros(2 * n)
    assert sp.simplify(M.det() - 1) == 0
    # explicit Euler's Jacobian is not symplectic: det = det(I + h^2 S)
    E = sp.Matrix(sp.BlockMatrix([[sp.eye(n), h * sp.eye(n)], [-h * S, sp.eye(n)]]))
    assert sp.simplify(E.det() - (sp.eye(n) + h**2 * S).det()) == 0


# A non-quadratic 2-D potential: one sympy expression serves sympy (exact derivatives) and the
# library (through lambdify to JAX), so the library is checked, not a retyped copy of it.
_q = sp.symbols("q1 q2", real=True)
_p = sp.symbols("p1 p2", real=True)
_h = sp.symbols("h", real=True)
_V = (sp.Rational(3, 10) * _q[0] ** 2 + sp.sin(_q[1]) * _q[0] + sp.cos(_q[0] * _q[1])
      + sp.Rational(1, 20) * _q[1] ** 4)


def _grad(expr, at):
    return sp.Matrix([sp.diff(_V, qi) for qi in _q]).subs(dict(zip(_q, at)), simultaneous=True)


def _symbolic_step(scheme):
    """One step of the named scheme as exact sympy expressions of (q, p, h) (spec §3.1)."""
    q, p = sp.Matrix(_q), sp.Matrix(_p)
    if scheme == "kdk":
        p_half = p - _h / 2 * _grad(_V, q)
        q_new = q + _h * p_half
        return q_new, p_half - _h / 2 * _grad(_V, q_new)
    if scheme == "dkd":
        q_half = q + _h / 2 * p
        p_new = p - _h * _grad(_V, q_half)
        return q_half + _h / 2 * p_new, p_new
    if scheme == "symplectic_euler":
        p_new = p - _h * _grad(_V, q)
        return q + _h * p_new, p_new
    return q + _h * p, p - _h * _grad(_V, q)  # explicit Euler


_LIBRARY = {"kdk": "leapfrog", "dkd": "leapfrog_dkd", "symplectic_euler": "symplectic_euler",
            "explicit_euler": "explicit_euler"}


@pytest.mark.parametrize("scheme", list(_LIBRARY))
def test_library_step_jacobian_equals_the_sympy_derivative(scheme):
    import jax
    import numpy as np

    from minimal_models import symplectic as sy

    q_new, p_new = _symbolic_step(scheme)
    state = (*_q, *_p)
    jac = sp.lambdify([state, _h], sp.Matrix([*q_new, *p_new]).jacobian(state), "numpy")
    step = sp.lambdify([state, _h], [*q_new, *p_new], "numpy")
    grad_V = jax.grad(sp.lambdify([_q], _V, modules="jax"))
    integrator = getattr(sy, _LIBRARY[scheme])
    rng = np.random.default_rng(0)
    for _ in range(3):  # each point compiles the library's jacfwd twice
        s0, h = rng.uniform(-1.5, 1.5, 4), float(rng.uniform(0.05, 0.4))
        one = sy.flow_jacobian(integrator, grad_V, s0[:2], s0[2:], h, 1)
        np.testing.assert_allclose(one, jac(s0, h), rtol=1e-12, atol=1e-13)
        # two steps: the chain rule through the exact intermediate state
        s1 = np.array(step(s0, h), dtype=float)
        two = sy.flow_jacobian(integrator, grad_V, s0[:2], s0[2:], h, 2)
        np.testing.assert_allclose(two, jac(s1, h) @ jac(s0, h), rtol=1e-11, atol=1e-12)
        J = sy.J_matrix(2)
        defect = np.abs(one.T @ J @ one - J).max()
        if scheme == "explicit_euler":
            assert defect > 1e-4  # not symplectic
        else:
            assert defect < 1e-13


_COEFFS = {"kdk": (sp.Rational(1, 12), -sp.Rational(1, 24)),
           "dkd": (-sp.Rational(1, 24), sp.Rational(1, 12))}


@pytest.mark.parametrize("scheme", ["kdk", "dkd"])
def test_library_modified_hamiltonian_equals_the_sympy_expression(scheme):
    import jax.numpy as jnp
    import numpy as np

    from minimal_models import symplectic as sy

    grad = sp.Matrix([sp.diff(_V, qi) for qi in _q])
    hess = sp.hessian(_V, _q)
    p = sp.Matrix(_p)
    a, b = _COEFFS[scheme]
    shadow = ((p.T * p)[0] / 2 + _V
              + _h**2 * (a * (p.T * hess * p)[0] + b * (grad.T * grad)[0]))
    exact = sp.lambdify([(*_q, *_p), _h], shadow, "numpy")
    V_jax = sp.lambdify([_q], _V, modules="jax")
    rng = np.random.default_rng(1)
    for _ in range(5):
        s0, h = rng.uniform(-1.5, 1.5, 4), float(rng.uniform(0.05, 0.4))
        value = float(sy.modified_hamiltonian(V_jax, jnp.asarray(s0[:2]), jnp.asarray(s0[2:]), h,
                                              scheme=scheme))
        assert value == pytest.approx(float(exact(s0, h)), rel=1e-13, abs=1e-13)


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
