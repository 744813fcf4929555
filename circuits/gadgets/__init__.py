"""Gadgets: each a native function on plain ints beside its in-circuit twin (on a
``circuits.builder.CircuitBuilder``), sharing one set of constants.

- ``bits``: decompositions, range checks, comparisons, signed ranges, absolute values;
- ``fixedpoint``: a b / d and a / d with floor or ceiling, proven by range-checked remainders;
- ``poseidon``, ``merkle``, ``babyjubjub``, ``eddsa``: hashing, sparse Merkle trees, signatures.

Import the modules themselves (``from circuits.gadgets import bits``): this package imports
nothing, so loading one gadget does not load the others.
"""
