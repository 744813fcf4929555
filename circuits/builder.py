"""The circuit builder: variables, linear combinations, gates; compiled to PLONK's tables.

Arithmetisation: PLONK (Gabizon, Williamson, Ciobotaru, ePrint 2019/953, section 6) with the
three-wire gate of ``prover.plonk.constraint_system``:

    qM a b + qL a + qR b + qO c + qC = 0

``CircuitBuilder`` creates variables (``Var``) and *linear combinations* (``LC``: sum c_i v_i + k).
Linear combinations cost nothing: ``+``, ``-``, ``*`` and ``/`` by constants build them without
gates. Gates appear only where the algebra needs one:

- ``mul(x, y)`` is ONE gate whenever x and y each have at most one variable: the constants and
  coefficients fold into the selectors, (cx u + kx)(cy v + ky) =
  cx cy u v + cx ky u + kx cy v + kx ky. An operand with two or more variables is first
  *materialised* into a variable (``materialize``: m - 1 gates for m variables, cached on the LC).
- a linear assertion over m variables (``assert_zero``, ``assert_equal``) is one gate for m <= 3
  and m - 2 gates beyond (a chain of partial sums, each gate absorbing two new terms).
- ``assert_mul(x, y, z)`` (x y = z) is one gate when z has at most one variable outside x's and
  y's; each further variable costs one gate.

Every variable is defined for the witness solver (``circuits.witness``) at its creation: inputs
are read by name, gate outputs are computed from the gate that defines them (qO = -1), and hints
(``hint``, ``hint_many``) run a Python function of earlier values. Hints are unconstrained:
the gadget that uses one must constrain its result.

Public signals are ``public_input``s and ``expose``d values, numbered 1..n_public in declaration
order; ``compile`` renumbers the variables (slot 0 the constant one, then the public signals, then
the rest in creation order) and emits the public rows first, one per public signal (a = i + 1,
qL = 1), as snarkjs expects. The witness slot 0 is zeroed by the prover, so a gate never uses
signal 0 as "one": constants go in qC.

snarkjs's *additions* (internal signals f1 s1 + f2 s2) are not used: in snarkjs each one costs a
gate anyway, so plain variables defined by gates are as cheap and keep the witness explicit.

Labels: ``with b.scope("merkle/level3"):`` names every gate emitted inside; labels nest with "/"
and travel in the .zkpc file, so ``check_satisfied`` names the gadget of a failing gate and
``gate_report`` counts gates per gadget.

Variables and LCs carry no reference to their builder: do not mix two builders' values.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from circuits.witness import Hint, HintArg, InputSpec, WitnessError, WitnessProgram
from prover import params
from prover.plonk.constraint_system import (
    ConstraintSystem,
    UnsatisfiedGate,
    check_satisfied,
    domain_power,
    save_circuit,
)
from prover.wtns import write_wtns

R = params.R_ORDER
_M1 = R - 1  # -1, the qO of a gate that defines its c wire

__all__ = [
    "LC",
    "Var",
    "Operand",
    "as_lc",
    "CircuitBuilder",
    "CompiledCircuit",
    "CircuitError",
    "UnsatisfiedGate",
    "WitnessError",
    "gate_report",
    "fr_inv",
]


class CircuitError(ValueError):
    """The circuit being built is wrong: an unsatisfiable constant constraint, a bad argument."""


def fr_inv(k: int) -> int:
    """1 / k in Fr (CircuitError for 0)."""
    k %= R
    if not k:
        raise CircuitError("division by zero in the field")
    return pow(k, -1, R)  # extended Euclid: ~10x faster than k^(R-2)


# --- linear combinations ------------------------------------------------------------------------


class LC:
    """A linear combination sum(c_i v_i) + k over the builder's variables (free: no gates).

    ``terms`` maps local variable indices to nonzero canonical coefficients; ``k`` is canonical.
    Treat LCs as immutable: every operator returns a new one. ``x * y`` of two non-constant LCs
    is a TypeError: products cost a gate, ask the builder (``b.mul(x, y)``).
    """

    __slots__ = ("terms", "k", "_var")

    def __init__(self, terms: dict[int, int] | None = None, k: int = 0) -> None:
        self.terms = {} if terms is None else terms
        self.k = k % R
        self._var: int | None = None  # the variable this LC was materialised into, if any

    # -- queries
    def is_constant(self) -> bool:
        return not self.terms

    @property
    def constant_value(self) -> int:
        """The value of a constant LC (CircuitError if it has variables)."""
        if self.terms:
            raise CircuitError(f"{self!r} is not a constant")
        return self.k

    def variables(self) -> list[int]:
        return list(self.terms)

    def __repr__(self) -> str:
        parts = [f"{_fmt(c)}*v{v}" for v, c in self.terms.items()]
        if self.k or not parts:
            parts.append(_fmt(self.k))
        return f"LC({' + '.join(parts)})"

    # -- arithmetic (all free)
    def __add__(self, other: LC | int) -> LC:
        if other.__class__ is int:
            return LC(dict(self.terms), self.k + other)  # type: ignore[operator]
        if not isinstance(other, LC):
            return NotImplemented
        a, b = (self.terms, other.terms)
        if len(a) < len(b):
            a, b = b, a
        t = dict(a)
        for v, c in b.items():
            s = (t.get(v, 0) + c) % R
            if s:
                t[v] = s
            else:
                t.pop(v, None)
        return LC(t, self.k + other.k)

    __radd__ = __add__

    def __neg__(self) -> LC:
        return LC({v: R - c for v, c in self.terms.items()}, -self.k)

    def __pos__(self) -> LC:
        return self

    def __sub__(self, other: LC | int) -> LC:
        if other.__class__ is int:
            return LC(dict(self.terms), self.k - other)  # type: ignore[operator]
        if not isinstance(other, LC):
            return NotImplemented
        t = dict(self.terms)
        for v, c in other.terms.items():
            s = (t.get(v, 0) - c) % R
            if s:
                t[v] = s
            else:
                t.pop(v, None)
        return LC(t, self.k - other.k)

    def __rsub__(self, other: int) -> LC:
        if other.__class__ is not int:
            return NotImplemented
        return LC({v: R - c for v, c in self.terms.items()}, other - self.k)

    def __mul__(self, other: LC | int) -> LC:
        if other.__class__ is not int:
            if isinstance(other, LC):
                if not other.terms:
                    return self * other.k
                if not self.terms:
                    return other * self.k
                raise TypeError(
                    "the product of two non-constant linear combinations costs a gate: "
                    "use builder.mul(x, y)"
                )
            return NotImplemented
        k = other % R  # type: ignore[operator]
        if not k:
            return LC({}, 0)
        return LC({v: c * k % R for v, c in self.terms.items()}, self.k * k)

    __rmul__ = __mul__

    def __truediv__(self, other: int) -> LC:
        """Division by a constant, in the field (multiplication by its inverse)."""
        if isinstance(other, LC) and not other.terms:
            other = other.k
        if other.__class__ is not int:
            return NotImplemented
        return self * fr_inv(other)  # type: ignore[arg-type]


class Var(LC):
    """One variable of the builder (an LC with the single term 1 * v)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.terms = {index: 1}
        self.k = 0
        self._var = None
        self.index = index

    def __repr__(self) -> str:
        return f"Var({self.index})"


def _fmt(c: int) -> str:
    return f"-{R - c}" if c > R // 2 else str(c)


def as_lc(x: LC | int) -> LC:
    """An int as a constant LC; an LC as itself."""
    if isinstance(x, LC):
        return x
    if isinstance(x, int) and not isinstance(x, bool):
        return LC({}, x)
    raise TypeError(f"expected a linear combination or an int, got {type(x).__name__}")


Operand = LC | int


# --- the builder --------------------------------------------------------------------------------


class CircuitBuilder:
    """Builds a PLONK circuit (see the module docstring). Typical use::

    b = CircuitBuilder()
    x = b.public_input("x")
    s = b.private_input("s")
    with b.scope("square"):
        y = b.mul(s, s)
    b.assert_equal(y, x)
    circuit = b.compile()
    witness = circuit.witness({"x": 9, "s": 3})
    """

    def __init__(self) -> None:
        self._n_vars = 1  # local variable 0: the constant-one slot (0 in the wires)
        self._rows: list[tuple] = []  # (a, b, c, qm, ql, qr, qo, qc, label_id)
        self._steps: list[int | Hint] = []
        self._inputs: list[InputSpec] = []
        self._input_names: set[str] = set()
        self._public: list[int] = []
        self._public_names: list[str] = []
        self._public_set: set[int] = set()
        self._scope: list[str] = []
        self._label_ids: dict[str, int] = {}
        self._label_names: list[str] = []
        self._label = -1  # -1: top level, no label
        self._consts: dict[int, int] = {}

    # -- sizes
    @property
    def n_gates(self) -> int:
        """Gates so far, the public rows included (what ``compile`` would emit)."""
        return len(self._rows) + len(self._public)

    @property
    def n_vars(self) -> int:
        """Witness variables so far, the constant-one slot included."""
        return self._n_vars

    @property
    def n_public(self) -> int:
        return len(self._public)

    # -- labels
    @contextmanager
    def scope(self, name: str) -> Iterator[None]:
        """Label every gate emitted inside with the scope path (nested scopes join with "/")."""
        if not isinstance(name, str) or not name:
            raise CircuitError(f"a scope name must be a non-empty string, got {name!r}")
        prev = self._label
        self._scope.append(name)
        self._label = self._intern("/".join(self._scope))
        try:
            yield
        finally:
            self._scope.pop()
            self._label = prev

    @property
    def current_scope(self) -> str:
        return "/".join(self._scope)

    def _intern(self, label: str) -> int:
        lid = self._label_ids.get(label)
        if lid is None:
            lid = len(self._label_names)
            self._label_ids[label] = lid
            self._label_names.append(label)
        return lid

    def _label_str(self) -> str | None:
        return None if self._label < 0 else self._label_names[self._label]

    # -- variables
    def _new(self) -> int:
        v = self._n_vars
        self._n_vars = v + 1
        return v

    def _add_input(self, name: str, n: int | None, public: bool) -> list[Var]:
        if not isinstance(name, str) or not name:
            raise CircuitError(f"an input name must be a non-empty string, got {name!r}")
        if name in self._input_names:
            raise CircuitError(f"input {name!r} is declared twice")
        count = 1 if n is None else n
        if n is not None and (not isinstance(n, int) or n < 0):
            raise CircuitError(f"input {name!r}: the length must be an int >= 0, got {n!r}")
        vs = [self._new() for _ in range(count)]
        self._input_names.add(name)
        self._inputs.append(InputSpec(name, tuple(vs), n is not None, public))
        if public:
            for i, v in enumerate(vs):
                self._make_public(v, name if n is None else f"{name}[{i}]")
        return [Var(v) for v in vs]

    def public_input(self, name: str) -> Var:
        """A public input (the next public signal)."""
        return self._add_input(name, None, True)[0]

    def public_inputs(self, name: str, n: int) -> list[Var]:
        """An array of n public inputs (``inputs[name]`` is a list of n values)."""
        return self._add_input(name, n, True)

    def private_input(self, name: str) -> Var:
        """A private input (a witness value, not a public signal)."""
        return self._add_input(name, None, False)[0]

    def private_inputs(self, name: str, n: int) -> list[Var]:
        """An array of n private inputs."""
        return self._add_input(name, n, False)

    def _make_public(self, v: int, name: str) -> None:
        self._public.append(v)
        self._public_names.append(name)
        self._public_set.add(v)

    def expose(self, x: Operand, name: str | None = None) -> Var:
        """Make x a public signal (the next one): free when x is a plain variable not public yet
        (the variable itself is renumbered), one gate otherwise (a copy). Returns its Var."""
        x = as_lc(x)
        name = name if name is not None else f"public{len(self._public)}"
        if name in self._public_names:
            raise CircuitError(f"a public signal is already named {name!r}")
        if isinstance(x, Var) and x.index not in self._public_set:
            v = x.index
        else:
            with self.scope(f"public/{name}"):
                v = self._materialize_fresh(x)
        self._make_public(v, name)
        return Var(v)

    def const(self, k: int) -> LC:
        """The constant k as an LC (free)."""
        return LC({}, k)

    @property
    def zero(self) -> LC:
        return LC({}, 0)

    @property
    def one(self) -> LC:
        return LC({}, 1)

    # -- hints
    @staticmethod
    def _hint_arg(x: Operand) -> HintArg:
        x = as_lc(x)
        if isinstance(x, Var):
            return x.index
        return (tuple(x.terms.items()), x.k)

    def hint(self, fn: Callable[..., int], *args: Operand) -> Var:
        """A new variable computed by ``fn(*values of args)`` (canonical ints in, an int out,
        reduced mod r). UNCONSTRAINED: the caller must constrain it with gates."""
        v = self._new()
        self._steps.append(Hint((v,), fn, tuple(map(self._hint_arg, args)), self._label_str()))
        return Var(v)

    def hint_many(
        self, fn: Callable[..., Sequence[int]], args: Sequence[Operand], n: int
    ) -> list[Var]:
        """n new variables computed together by ``fn(*values of args)`` (a sequence of n ints).
        UNCONSTRAINED: the caller must constrain them with gates."""
        vs = tuple(self._new() for _ in range(n))
        self._steps.append(Hint(vs, fn, tuple(map(self._hint_arg, args)), self._label_str()))
        return [Var(v) for v in vs]

    # -- raw gates
    # Selector values are interned (one int object per distinct value): a circuit uses few
    # distinct selectors, and a big int costs ~60 bytes, most of a gate's memory otherwise.
    def _gate(self, a: int, b: int, c: int, qm: int, ql: int, qr: int, qo: int, qc: int) -> None:
        k = self._consts
        qm %= R
        ql %= R
        qr %= R
        qo %= R
        qc %= R
        self._rows.append(
            (a, b, c, k.setdefault(qm, qm), k.setdefault(ql, ql), k.setdefault(qr, qr),
             k.setdefault(qo, qo), k.setdefault(qc, qc), self._label)
        )  # fmt: skip

    def _out(self, a: int, b: int, qm: int, ql: int, qr: int, qc: int) -> int:
        """A new variable c := qm a b + ql a + qr b + qc, defined (and solved) by its gate."""
        c = self._n_vars
        self._n_vars = c + 1
        self._steps.append(len(self._rows))
        k = self._consts
        qm %= R
        ql %= R
        qr %= R
        qc %= R
        self._rows.append(
            (a, b, c, k.setdefault(qm, qm), k.setdefault(ql, ql), k.setdefault(qr, qr), _M1,
             k.setdefault(qc, qc), self._label)
        )  # fmt: skip
        return c

    @staticmethod
    def _wire(x: Var | None) -> int:
        if x is None:
            return 0
        if not isinstance(x, Var):
            raise CircuitError(f"a gate wire must be a Var or None, got {x!r}")
        return x.index

    def custom_gate(
        self,
        a: Var | None,
        b: Var | None,
        c: Var | None,
        *,
        qm: int = 0,
        ql: int = 0,
        qr: int = 0,
        qo: int = 0,
        qc: int = 0,
    ) -> None:
        """Emit the gate qm a b + ql a + qr b + qo c + qc = 0 as is (None: an unused wire)."""
        self._gate(self._wire(a), self._wire(b), self._wire(c), qm, ql, qr, qo, qc)

    def custom_output(
        self, a: Var | None, b: Var | None, *, qm: int = 0, ql: int = 0, qr: int = 0, qc: int = 0
    ) -> Var:
        """A new variable c := qm a b + ql a + qr b + qc, defined by one gate (qO = -1)."""
        return Var(self._out(self._wire(a), self._wire(b), qm, ql, qr, qc))

    # -- materialisation
    def _single(self, x: LC) -> tuple[int, int, int]:
        """x as (u, c, k) with x = c u + k: materialised when it has two or more variables;
        u = 0 (and c = 0) for a constant."""
        terms = x.terms
        n = len(terms)
        if n == 1:
            for u, c in terms.items():
                return u, c, x.k
        if n == 0:
            return 0, 0, x.k
        return self._materialize(x), 1, 0

    def _materialize(self, x: LC) -> int:
        if x.__class__ is Var:
            return x.index  # type: ignore[attr-defined]
        if x._var is not None:
            return x._var
        terms = x.terms
        if len(terms) == 1 and x.k == 0:
            for u, c in terms.items():
                if c == 1:
                    return u
        v = self._materialize_fresh(x)
        x._var = v
        return v

    def _materialize_fresh(self, x: LC) -> int:
        """A NEW variable equal to x: max(1, m - 1) gates for m variables."""
        items = list(x.terms.items())
        k = x.k
        if not items:
            return self._out(0, 0, 0, 0, 0, k)
        if len(items) == 1:
            (u, c) = items[0]
            return self._out(u, 0, 0, c, 0, k)
        (u1, c1), (u2, c2) = items[0], items[1]
        if len(items) == 2:
            return self._out(u1, u2, 0, c1, c2, k)
        t = self._out(u1, u2, 0, c1, c2, 0)
        for u, c in items[2:-1]:
            t = self._out(t, u, 0, 1, c, 0)
        u, c = items[-1]
        return self._out(t, u, 0, 1, c, k)

    def materialize(self, x: Operand) -> Var:
        """x as a single variable: free for a Var, max(1, m - 1) gates for an LC of m variables
        (cached: materialising the same LC object twice costs nothing more)."""
        return Var(self._materialize(as_lc(x)))

    # -- linear constraints
    def _assert_linear(self, terms: Mapping[int, int], k: int) -> None:
        items = list(terms.items())
        m = len(items)
        if m == 0:
            if k % R:
                raise CircuitError(
                    f"unsatisfiable constraint 0 = {_fmt(k % R)}"
                    + (f" in {self.current_scope}" if self._scope else "")
                )
            return
        if m <= 3:
            items += [(0, 0)] * (3 - m)
            (a, ca), (b, cb), (c, cc) = items
            self._gate(a, b, c, 0, ca, cb, cc, k)
            return
        (u1, c1), (u2, c2) = items[0], items[1]
        t = self._out(u1, u2, 0, c1, c2, 0)
        for u, c in items[2:-2]:
            t = self._out(t, u, 0, 1, c, 0)
        (u1, c1), (u2, c2) = items[-2], items[-1]
        self._gate(t, u1, u2, 0, 1, c1, c2, k)

    def assert_zero(self, x: Operand) -> None:
        """x = 0: one gate for up to 3 variables, m - 2 for m > 3; none for the constant 0."""
        x = as_lc(x)
        self._assert_linear(x.terms, x.k)

    def assert_equal(self, x: Operand, y: Operand) -> None:
        """x = y (the cost of assert_zero(x - y))."""
        d = as_lc(x) - as_lc(y)
        self._assert_linear(d.terms, d.k)

    # -- quadratic constraints
    def _assert_quad(self, m: int, u: int, v: int, lin: dict[int, int], k: int) -> None:
        """m u v + sum(lin) + k = 0 (u, v variables, m != 0): one gate, plus one per variable of
        lin beyond the first that is neither u nor v."""
        extras = [(w, c) for w, c in lin.items() if w != u and w != v and c]
        if len(extras) > 1:
            s = self._materialize(LC(dict(extras)))
            extras = [(s, 1)]
        w, cw = extras[0] if extras else (0, 0)
        if u == v:
            self._gate(u, u, w, m, lin.get(u, 0), 0, cw, k)
        else:
            self._gate(u, v, w, m, lin.get(u, 0), lin.get(v, 0), cw, k)

    def mul(self, x: Operand, y: Operand) -> LC:
        """x * y: one gate when x and y have at most one variable each (constants and
        coefficients fold into the selectors), plus the materialisation of a wider operand;
        free when either is a constant. Returns a new Var (or an LC for a constant operand)."""
        x = as_lc(x)
        y = as_lc(y)
        if not x.terms:
            return y * x.k
        if not y.terms:
            return x * y.k
        u, cx, kx = self._single(x)
        v, cy, ky = self._single(y)
        return Var(self._out(u, v, cx * cy, cx * ky, kx * cy, kx * ky))

    def square(self, x: Operand) -> LC:
        """x * x (one gate for a one-variable x)."""
        return self.mul(x, x)

    def assert_mul(self, x: Operand, y: Operand, z: Operand) -> None:
        """x * y = z: one gate when x and y have one variable each and z at most one variable
        besides theirs; each further variable of z costs one gate."""
        x = as_lc(x)
        y = as_lc(y)
        z = as_lc(z)
        if not x.terms or not y.terms:
            self.assert_equal(x * y, z)
            return
        u, cx, kx = self._single(x)
        v, cy, ky = self._single(y)
        lin = {w: R - c for w, c in z.terms.items()}  # - z
        lin[u] = (lin.get(u, 0) + cx * ky) % R
        lin[v] = (lin.get(v, 0) + kx * cy) % R
        self._assert_quad(cx * cy % R, u, v, lin, kx * ky - z.k)

    # -- field operations
    def inverse(self, x: Operand) -> LC:
        """1 / x, constraining x != 0 (one gate for a one-variable x)."""
        x = as_lc(x)
        if not x.terms:
            return LC({}, fr_inv(x.k))
        inv = self.hint(_inv_or_zero, x)
        self.assert_mul(x, inv, 1)
        return inv

    def assert_nonzero(self, x: Operand) -> None:
        """x != 0 (one gate for a one-variable x: x * (1/x) = 1)."""
        x = as_lc(x)
        if not x.terms:
            if not x.k:
                raise CircuitError("unsatisfiable constraint: the constant 0 is not nonzero")
            return
        self.inverse(x)

    def div(self, x: Operand, y: Operand) -> LC:
        """x / y in the field: one gate (z y = x) for one-variable x and y; free for a constant
        y. y = 0 makes the witness fail unless x = 0, when z is unconstrained: use ``inverse``
        to forbid y = 0 outright."""
        x = as_lc(x)
        y = as_lc(y)
        if not y.terms:
            return x / y.k
        if not x.terms and not x.k:
            return LC({}, 0)
        z = self.hint(_div_or_zero, x, y)
        self.assert_mul(y, z, x)
        return z

    def is_zero(self, x: Operand) -> LC:
        """1 if x = 0 else 0 (two gates for a one-variable x): out = 1 - x inv, x out = 0."""
        x = as_lc(x)
        if not x.terms:
            return LC({}, 0 if x.k else 1)
        u, c, k = self._single(x)
        inv = self.hint(_inv_or_zero, LC({u: c}, k))
        out = self._out(u, inv.index, -c, 0, -k, 1)
        self._gate(u, out, 0, c, 0, k, 0, 0)
        return Var(out)

    def is_equal(self, x: Operand, y: Operand) -> LC:
        """1 if x = y else 0 (is_zero(x - y))."""
        return self.is_zero(as_lc(x) - as_lc(y))

    # -- booleans (the inputs are assumed boolean; assert_bool them if they come from outside)
    def assert_bool(self, x: Operand) -> None:
        """x in {0, 1}: one gate x^2 - x = 0 (a one-variable x, constants folded)."""
        x = as_lc(x)
        if not x.terms:
            if x.k not in (0, 1):
                raise CircuitError(
                    f"unsatisfiable constraint: the constant {_fmt(x.k)} is not a bit"
                )
            return
        u, c, k = self._single(x)
        self._gate(u, u, 0, c * c, 2 * c * k - c, 0, 0, k * k - k)

    def bool_input(self, name: str, public: bool = False) -> Var:
        """An input constrained to be 0 or 1 (one gate)."""
        v = self.public_input(name) if public else self.private_input(name)
        self.assert_bool(v)
        return v

    def not_(self, a: Operand) -> LC:
        """1 - a (free)."""
        return 1 - as_lc(a)

    def _bool2(self, a: Operand, b: Operand, m: int, la: int, lb: int) -> LC:
        """m a b + la a + lb b in one gate (a new Var); constant operands fold to an LC."""
        a = as_lc(a)
        b = as_lc(b)
        if not a.terms or not b.terms:
            return self.mul(a, b) * m + a * la + b * lb
        u, ca, ka = self._single(a)
        v, cb, kb = self._single(b)
        # m (ca u + ka)(cb v + kb) + la (ca u + ka) + lb (cb v + kb)
        return Var(
            self._out(
                u,
                v,
                m * ca * cb,
                m * ca * kb + la * ca,
                m * ka * cb + lb * cb,
                m * ka * kb + la * ka + lb * kb,
            )
        )

    def and_(self, a: Operand, b: Operand) -> LC:
        """a AND b = a b (one gate)."""
        return self._bool2(a, b, 1, 0, 0)

    def or_(self, a: Operand, b: Operand) -> LC:
        """a OR b = a + b - a b (one gate)."""
        return self._bool2(a, b, -1, 1, 1)

    def xor(self, a: Operand, b: Operand) -> LC:
        """a XOR b = a + b - 2 a b (one gate)."""
        return self._bool2(a, b, -2, 1, 1)

    def select(self, cond: Operand, a: Operand, b: Operand) -> LC:
        """cond ? a : b = b + cond (a - b), for a boolean cond: one gate when a - b has at most
        one variable (one of a, b constant, or both on the same variable), two otherwise."""
        cond = as_lc(cond)
        a = as_lc(a)
        b = as_lc(b)
        if not cond.terms:
            return a if cond.k == 1 else b if cond.k == 0 else b + (a - b) * cond.k
        d = a - b
        if not d.terms:
            return b + cond * d.k
        if len(d.terms) == 1 and all(w in d.terms for w in b.terms):
            # cond d + b with b on d's variable (or constant): ONE gate, the result a Var
            u, cc, kc = self._single(cond)
            ((v, cd),) = d.terms.items()
            kd = d.k
            bv = b.terms.get(v, 0)
            return Var(self._out(u, v, cc * cd, cc * kd, kc * cd + bv, kc * kd + b.k))
        return self.mul(cond, d) + b  # two gates: d materialised, then cond * d

    def cond_swap(self, cond: Operand, a: Operand, b: Operand) -> tuple[LC, LC]:
        """(b, a) if cond else (a, b), for a boolean cond (a Merkle level's left/right): with
        m = cond (b - a), (a + m, b - m). One gate when b - a has at most one variable, two
        otherwise; both results are LCs."""
        a = as_lc(a)
        b = as_lc(b)
        m = self.mul(cond, b - a)
        return a + m, b - m

    def sum(self, xs: Iterable[Operand]) -> LC:
        """The sum of xs (free), in one pass."""
        terms: dict[int, int] = {}
        k = 0
        for x in xs:
            if x.__class__ is int:
                k += x  # type: ignore[operator]
                continue
            x = as_lc(x)
            k += x.k
            for v, c in x.terms.items():
                terms[v] = terms.get(v, 0) + c
        return LC({v: c % R for v, c in terms.items() if c % R}, k)

    def lincomb(self, coefs: Sequence[int], xs: Sequence[Operand], k: int = 0) -> LC:
        """sum(coefs[i] xs[i]) + k (free), in one pass."""
        if len(coefs) != len(xs):
            raise CircuitError(f"lincomb: {len(coefs)} coefficients for {len(xs)} terms")
        terms: dict[int, int] = {}
        for a, x in zip(coefs, xs):
            x = as_lc(x)
            k += a * x.k
            for v, c in x.terms.items():
                terms[v] = terms.get(v, 0) + a * c
        return LC({v: c % R for v, c in terms.items() if c % R}, k)

    def check(self, inputs: Mapping[str, object], **kwargs) -> list[int]:
        """Compile, solve and check the circuit so far on ``inputs`` (``CompiledCircuit.check``):
        the witness, or UnsatisfiedGate naming the first failing gate and its label."""
        return self.compile().check(inputs, **kwargs)

    # -- compile
    def compile(self) -> CompiledCircuit:
        """The circuit so far: the ConstraintSystem (public rows first, labels) and its witness
        program. The builder may go on; later additions do not affect this compiled circuit."""
        n = self._n_vars
        order = [0] + self._public  # compiled index -> local variable
        public = self._public_set
        order += [v for v in range(1, n) if v not in public]
        perm = [0] * n  # local variable -> compiled index
        for i, v in enumerate(order):
            perm[v] = i
        rows = self._rows
        n_pub = len(self._public)
        cols: list[list[int]] = [[] for _ in range(8)]
        for i in range(n_pub):
            for col, val in zip(cols, (i + 1, 0, 0, 0, 1, 0, 0, 0)):
                col.append(val)
        ca, cb, cc = cols[0], cols[1], cols[2]
        ca.extend([perm[r[0]] for r in rows])
        cb.extend([perm[r[1]] for r in rows])
        cc.extend([perm[r[2]] for r in rows])
        for j in range(3, 8):
            cols[j].extend([r[j] for r in rows])
        names = self._label_names
        labels: list[str | None] = [f"public/{name}" for name in self._public_names]
        labels.extend([None if r[8] < 0 else names[r[8]] for r in rows])
        cs = ConstraintSystem(
            n_vars=n,
            n_public=n_pub,
            a=ca,
            b=cb,
            c=cc,
            qm=cols[3],
            ql=cols[4],
            qr=cols[5],
            qo=cols[6],
            qc=cols[7],
            labels=tuple(labels),
        )
        program = WitnessProgram(n, rows, self._steps, len(self._steps), self._inputs)
        return CompiledCircuit(
            cs=cs,
            public_names=tuple(self._public_names),
            program=program,
            order=tuple(order),
            perm=tuple(perm),
        )


def _inv_or_zero(x: int) -> int:
    return pow(x % R, -1, R) if x % R else 0


def _div_or_zero(x: int, y: int) -> int:
    return x * pow(y % R, -1, R) % R if y % R else 0


# --- the compiled circuit -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CompiledCircuit:
    """A compiled circuit: ``cs`` (what ``prover.plonk.setup`` and ``save`` take) and the
    witness program. ``order[i]`` is the local variable of compiled signal i, ``perm`` the
    inverse map."""

    cs: ConstraintSystem
    public_names: tuple[str, ...]
    program: WitnessProgram
    order: tuple[int, ...]
    perm: tuple[int, ...]

    @property
    def n_gates(self) -> int:
        return self.cs.n_gates

    @property
    def domain_size(self) -> int:
        return 1 << domain_power(self.cs)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.program.inputs)

    def _local_overrides(self, overrides: Mapping[Var | int, int]) -> dict[int, int]:
        out = {}
        for key, value in overrides.items():
            if isinstance(key, Var):
                out[key.index] = value
            elif isinstance(key, int) and not isinstance(key, bool):
                out[key] = value
            else:
                raise WitnessError(f"override keys are Vars (or local indices), got {key!r}")
        return out

    def witness(
        self, inputs: Mapping[str, object], *, overrides: Mapping[Var | int, int] | None = None
    ) -> list[int]:
        """The full witness (slot 0 = 1, public signals at 1..n_public in declaration order)
        for ``inputs`` (name -> int, or list of ints for an array input). ``overrides``
        (Var -> value) forces variables to given values, everything after them being computed
        from the forced values: how tests build bad witnesses. WitnessError for bad inputs."""
        local = self.program.solve(inputs, self._local_overrides(overrides) if overrides else None)
        w = [local[v] for v in self.order]
        w[0] = 1
        return w

    def signal(self, x: Var) -> int:
        """The compiled witness index of variable x."""
        return self.perm[x.index]

    def value(self, x: Operand, witness: Sequence[int]) -> int:
        """The value of x (an LC or Var of this circuit) in a compiled witness."""
        x = as_lc(x)
        perm = self.perm
        return (x.k + sum(c * witness[perm[v]] for v, c in x.terms.items())) % R

    def public_signals(self, witness: Sequence[int]) -> list[int]:
        return list(witness[1 : self.cs.n_public + 1])

    def check(self, inputs: Mapping[str, object], **kwargs) -> list[int]:
        """The witness of ``inputs``, checked gate by gate: UnsatisfiedGate names the first
        failing gate and its label (the gadget that emitted it)."""
        w = self.witness(inputs, **kwargs)
        check_satisfied(self.cs, w)
        return w

    def report(self, depth: int = 1) -> dict[str, int]:
        return gate_report(self.cs, depth)

    def save(self, path: str | os.PathLike) -> None:
        """Write the constraint system as a .zkpc file (``zkperp plonk setup`` takes it)."""
        save_circuit(self.cs, path)

    def write_wtns(self, path: str | os.PathLike, witness: Sequence[int]) -> None:
        """Write a witness as a snarkjs .wtns file."""
        if len(witness) != self.cs.n_vars:
            raise WitnessError(
                f"witness has {len(witness)} values, the circuit needs {self.cs.n_vars}"
            )
        write_wtns(path, witness)


PUBLIC_PREFIX = "public"
UNLABELLED = "(unlabelled)"


def gate_report(cs: ConstraintSystem, depth: int = 1) -> dict[str, int]:
    """Gate counts per label prefix: the first ``depth`` components of each gate's label path
    ("public" for the public rows, "(unlabelled)" for gates without a label), in order of first
    appearance. The counts sum to ``cs.n_gates``."""
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    counts: dict[str | None, int] = {}
    labels = cs.labels if cs.labels is not None else (None,) * cs.n_gates
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    out: dict[str, int] = {}
    for label, n in counts.items():
        key = UNLABELLED if not label else "/".join(label.split("/")[:depth])
        out[key] = out.get(key, 0) + n
    return out
