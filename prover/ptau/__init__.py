"""snarkjs powers-of-tau files (.ptau): read, write a development SRS, verify.

Mirrors snarkjs 0.7.6 ``powersoftau_new.js`` and ``powersoftau_utils.js`` (header, sections,
contribution records), ``powersoftau_contribute.js`` (what one contribution writes and hashes),
``powersoftau_preparephase2.js`` (the Lagrange sections) and ``powersoftau_verify.js``.

Modules, by concern:

- ``sections``: the container layout (constants, section sizes), ``PtauError``, point validation.
- ``format``: reading: ``Ptau`` (validated point accessors) and ``read_ptau``.
- ``contribution``: section 7's records (``Contribution``, ``PublicKey``), encode / decode.
- ``blake2b``: BLAKE2b with snarkjs's saved state, the first challenge hash.
- ``hash_to_g2``: ffjavascript's ChaCha and snarkjs's hash to G2 (``g2_sp``), ``g2_mul``.
- ``encodings``: the uncompressed / compressed point encodings the hashes absorb.
- ``lagrange``: the Lagrange scalars L_i(tau) of the phase-2 sections.
- ``write``: ``write_dev_ptau`` (a one-party development SRS, insecure).
- ``batch``: the verifier's 64-bit-weight MSMs, batched G2 subgroup test, pairing batch.
- ``verify``: ``verify_ptau`` / ``check_ptau``.

Everything public is re-exported here: ``from prover.ptau import read_ptau, write_dev_ptau``.
"""

from prover.ptau.batch import (
    SUBGROUP_ROUNDS,
    PairingBatch,
    Pairs,
    g2_all_in_subgroup,
    g2_combine_windows_m,
    g2_msm_u64,
    g2_msm_u64_windows_m,
)
from prover.ptau.blake2b import Blake2b, b2b_compress_m, blake2b_512, first_challenge_hash
from prover.ptau.contribution import (
    Contribution,
    PublicKey,
    decode_contributions,
    encode_contributions,
    public_key,
)
from prover.ptau.encodings import g1_encodings, g2_encodings, point_encodings
from prover.ptau.format import Ptau, read_ptau
from prover.ptau.hash_to_g2 import G2_COFACTOR, ChaCha, g2_mul, g2_mul_m, g2_sp, hash_to_g2
from prover.ptau.lagrange import lagrange_scalars_m
from prover.ptau.sections import (
    CHUNK,
    DEV_CONTRIBUTION_NAME,
    G1_BYTES,
    G2_BYTES,
    HASH_BYTES,
    MAGIC,
    MAX_FIRST_CHALLENGE_POWER,
    MAX_POWER,
    N8,
    PARTIAL_HASH_BYTES,
    PHASE2_SECTIONS,
    PUBKEY_BYTES,
    SECTION_NAMES,
    VERSION,
    PtauError,
    first_invalid_point,
    is_g2_section,
    section_label,
    section_points,
    section_size,
)
from prover.ptau.verify import PtauReport, check_ptau, verify_ptau
from prover.ptau.write import write_dev_ptau

_encodings = point_encodings  # the old module-private name (tests/test_ptau.py uses it)

__all__ = [
    "CHUNK",
    "DEV_CONTRIBUTION_NAME",
    "G1_BYTES",
    "G2_BYTES",
    "G2_COFACTOR",
    "HASH_BYTES",
    "MAGIC",
    "MAX_FIRST_CHALLENGE_POWER",
    "MAX_POWER",
    "N8",
    "PARTIAL_HASH_BYTES",
    "PHASE2_SECTIONS",
    "PUBKEY_BYTES",
    "SECTION_NAMES",
    "SUBGROUP_ROUNDS",
    "VERSION",
    "Blake2b",
    "ChaCha",
    "Contribution",
    "PairingBatch",
    "Pairs",
    "Ptau",
    "PtauError",
    "PtauReport",
    "PublicKey",
    "b2b_compress_m",
    "blake2b_512",
    "check_ptau",
    "decode_contributions",
    "encode_contributions",
    "first_challenge_hash",
    "first_invalid_point",
    "g1_encodings",
    "g2_all_in_subgroup",
    "g2_combine_windows_m",
    "g2_encodings",
    "g2_msm_u64",
    "g2_msm_u64_windows_m",
    "g2_mul",
    "g2_mul_m",
    "g2_sp",
    "hash_to_g2",
    "is_g2_section",
    "lagrange_scalars_m",
    "point_encodings",
    "public_key",
    "read_ptau",
    "section_label",
    "section_points",
    "section_size",
    "verify_ptau",
    "write_dev_ptau",
]
