"""BN254 curve arithmetic: integer references and Numba kernels.

- ``ref``: G1/G2 on plain Python ints (validation, group law, pairing check, encodings).
- ``g1``: G1 kernels on Montgomery arrays (XYZZ and affine point operations, batch
  normalisation, validation); ``twin_g1`` holds their plain-Python twins.
- ``msm``: Pippenger multi-scalar multiplication on G1 with batch-affine buckets.
- ``fixed_base_g1``: one G1 point times many scalars (powers of tau, SRS generation).
- ``fq2``, ``g2``, ``fixed_base_g2``: the same for the twist group G2.

Nothing is imported here, so that importing one module does not compile the others.
"""
