"""Circuits: the circuit builder, witness solving, gadgets and the batch state-transition circuit.

Empty at the foundation stage (the BN254 arithmetic engine). Filled by the circuits issue
(CircuitBuilder, gadgets: Poseidon, Merkle, bits, comparisons, fixed point, Baby Jubjub, EdDSA)
and then by the state-transition-circuit issue. See ../shared/ARCHITECTURE.md.
"""
