"""Gadgets: each a native function on plain ints beside its in-circuit twin (on a
``circuits.builder.CircuitBuilder``), sharing one set of constants.

- ``bits``: decompositions, range checks, comparisons, signed ranges, absolute values;
- ``fixedpoint``: a b / d and a / d with floor or ceiling, proven by range-checked remainders;
- ``poseidon``, ``merkle``, ``babyjubjub``, ``eddsa``: hashing, sparse Merkle trees, signatures
  (native; ``poseidon_kernels`` batches Poseidon in Numba, ``blake512`` derives EdDSA keys as
  circomlibjs does);
- ``poseidon_circuit``, ``merkle_circuit``, ``babyjubjub_circuit``, ``eddsa_circuit``: their
  in-circuit twins (Poseidon permutation, Merkle inclusion and one-path update, twisted Edwards
  arithmetic, EdDSA-Poseidon verification as circomlib's ``EdDSAPoseidonVerifier``).

Import the modules themselves (``from circuits.gadgets import bits``): this package imports
nothing, so loading one gadget does not load the others.
"""
