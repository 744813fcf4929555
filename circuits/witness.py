"""Witness solving for circuits built with ``circuits.builder``: the program and its interpreter.

A circuit's witness is computed the way circom's witness generator does it, by running the
definitions of its variables in creation order. Every variable the builder creates is one of:

- an **input** (public or private), read from the ``inputs`` mapping by name;
- a **gate output**: the gate row ``qM a b + qL a + qR b - c + qC = 0`` (qO = -1) that the builder
  emitted for it *defines* it, ``c = qM a b + qL a + qR b + qC``; the step is the row's index, so
  the interpreter evaluates the gate itself (no closure, no extra memory);
- a **hint** output: a Python function of earlier values (``CircuitBuilder.hint``), e.g. a bit
  decomposition or an inverse. Hints are *not* constraints: the gadget that asks for one must
  constrain its outputs with gates.

Values are canonical Fr ints (``0 <= v < r``). During solving the constant-one slot 0 holds 0, as
it does in the prover's wires (snarkjs zeroes witness slot 0; constants live in qC), and becomes 1
in the returned witness.

The program works in the builder's *local* numbering (variables in creation order, 0 the
constant slot); ``circuits.builder.CompiledCircuit`` permutes the result into the compiled
numbering (public signals first).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from prover import params

R = params.R_ORDER
HALF_R = R // 2

# A hint argument: a local variable index (coefficient 1, no constant), or an LC as
# ((var, coef), ...) plus a constant.
HintArg = int | tuple[tuple[tuple[int, int], ...], int]


class WitnessError(ValueError):
    """The inputs do not fit the circuit (missing, unknown, malformed), or a hint failed."""


def signed(v: int) -> int:
    """A canonical Fr element read as a signed integer: v if v <= (r - 1) / 2, else v - r."""
    return v - R if v > HALF_R else v


def field(v: int) -> int:
    """A signed integer as a canonical Fr element (v mod r)."""
    return v % R


@dataclass(frozen=True)
class InputSpec:
    """One named input: its local variables (one for a scalar, n for an array)."""

    name: str
    vars: tuple[int, ...]
    is_array: bool
    public: bool


@dataclass(frozen=True)
class Hint:
    """A hint step: ``outs`` (local variables) := ``fn(*values of args)``."""

    outs: tuple[int, ...]
    fn: Callable[..., int | Sequence[int]]
    args: tuple[HintArg, ...]
    label: str | None


def _eval_arg(arg: HintArg, w: list[int]) -> int:
    if arg.__class__ is int:
        return w[arg]  # type: ignore[index]
    terms, k = arg  # type: ignore[misc]
    acc = k
    for v, c in terms:
        acc += c * w[v]
    return acc % R


def input_value(name: str, v: object) -> int:
    """An input value as a canonical Fr element: an int in (-r, r); negatives are taken mod r."""
    if isinstance(v, bool) or not isinstance(v, int):
        try:
            if isinstance(v, bool):
                raise TypeError
            v = operator.index(v)  # numpy integers
        except TypeError:
            raise WitnessError(
                f"input {name!r}: expected an integer, got {type(v).__name__}"
            ) from None
    if not -R < v < R:
        raise WitnessError(f"input {name!r}: {v} is outside (-r, r): not a field element")
    return v % R


class WitnessProgram:
    """The solving program of a circuit: gate rows, steps in creation order, inputs.

    ``rows`` are the builder's gate rows in local numbering (a, b, c, qm, ql, qr, qo, qc, label);
    only the first ``n_rows`` and ``n_steps`` belong to this program (the builder may keep adding
    after a compile; its lists are append-only).
    """

    __slots__ = ("n_vars", "rows", "steps", "n_steps", "inputs")

    def __init__(
        self,
        n_vars: int,
        rows: list[tuple],
        steps: list[int | Hint],
        n_steps: int,
        inputs: Sequence[InputSpec],
    ) -> None:
        self.n_vars = n_vars
        self.rows = rows
        self.steps = steps
        self.n_steps = n_steps
        self.inputs = tuple(inputs)

    def _assign_inputs(self, w: list[int], inputs: Mapping[str, object]) -> None:
        if not isinstance(inputs, Mapping):
            raise WitnessError(f"inputs must be a mapping of names to values, got {inputs!r}")
        names = {spec.name for spec in self.inputs}
        unknown = sorted(str(k) for k in inputs if k not in names)
        if unknown:
            raise WitnessError(
                f"unknown input(s) {', '.join(map(repr, unknown))}; the circuit takes "
                f"{', '.join(repr(s.name) for s in self.inputs) or 'no inputs'}"
            )
        for spec in self.inputs:
            if spec.name not in inputs:
                raise WitnessError(f"missing input {spec.name!r}")
            value = inputs[spec.name]
            if spec.is_array:
                if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                    raise WitnessError(
                        f"input {spec.name!r}: expected a list of {len(spec.vars)} integers"
                    )
                if len(value) != len(spec.vars):
                    raise WitnessError(
                        f"input {spec.name!r}: expected {len(spec.vars)} values, got {len(value)}"
                    )
                for i, (var, v) in enumerate(zip(spec.vars, value)):
                    w[var] = input_value(f"{spec.name}[{i}]", v)
            else:
                w[spec.vars[0]] = input_value(spec.name, value)

    def solve(
        self, inputs: Mapping[str, object], overrides: Mapping[int, int] | None = None
    ) -> list[int]:
        """All local values (slot 0 is 0 here). ``overrides`` (local variable -> value) replaces
        a variable's computed value as soon as it is computed, so that everything after it is
        computed from the replacement: the way to build a *bad* witness in a test."""
        w = [0] * self.n_vars
        self._assign_inputs(w, inputs)
        if overrides:
            return self._solve_overridden(w, overrides)
        rows = self.rows
        steps = self.steps
        for i in range(self.n_steps):
            st = steps[i]
            if st.__class__ is int:
                a, b, c, qm, ql, qr, _, qc, _ = rows[st]  # type: ignore[index]
                wa = w[a]
                wb = w[b]
                w[c] = (qm * wa * wb + ql * wa + qr * wb + qc) % R
            else:
                _run_hint(st, w)  # type: ignore[arg-type]
        return w

    def _solve_overridden(self, w: list[int], overrides: Mapping[int, int]) -> list[int]:
        over = {int(k): int(v) % R for k, v in overrides.items()}
        for var, v in over.items():
            if not 0 < var < self.n_vars:
                raise WitnessError(f"override of variable {var}: no such variable")
            w[var] = v  # inputs keep the override; computed variables get it when computed
        rows = self.rows
        for i in range(self.n_steps):
            st = self.steps[i]
            if st.__class__ is int:
                a, b, c, qm, ql, qr, _, qc, _ = rows[st]  # type: ignore[index]
                w[c] = over[c] if c in over else (qm * w[a] * w[b] + ql * w[a] + qr * w[b] + qc) % R
            else:
                _run_hint(st, w)  # type: ignore[arg-type]
                for out in st.outs:  # type: ignore[union-attr]
                    if out in over:
                        w[out] = over[out]
        return w


def _run_hint(h: Hint, w: list[int]) -> None:
    vals = [_eval_arg(a, w) for a in h.args]
    try:
        out = h.fn(*vals)
    except Exception as exc:  # a bug or bad input in a hint: name where it was asked for
        where = f" (in {h.label})" if h.label else ""
        raise WitnessError(f"hint {getattr(h.fn, '__name__', h.fn)}{where} failed: {exc}") from exc
    outs = h.outs
    if len(outs) == 1 and not isinstance(out, (list, tuple)):
        w[outs[0]] = int(out) % R
        return
    if len(out) != len(outs):  # type: ignore[arg-type]
        raise WitnessError(
            f"hint {getattr(h.fn, '__name__', h.fn)} returned {len(out)} values, "  # type: ignore[arg-type]
            f"expected {len(outs)}"
        )
    for var, v in zip(outs, out):  # type: ignore[arg-type]
        w[var] = int(v) % R
