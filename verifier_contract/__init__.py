"""The on-chain side: Solidity contracts rendered and compiled here, deployed and called with
web3.py on an embedded EVM (eth-tester / py-evm) or any JSON-RPC node.

- ``render``: the PLONK verifier contract of a verifying key (``templates/PlonkVerifier.sol.tmpl``;
  ePrint 2019/953 section 8.3 as snarkjs 0.7.6's ``plonk_verify.js``, on the BN254 precompiles),
  with snarkjs's ABI and calldata (``proof_words``, ``solidity_calldata``); it rejects every
  non-canonical input, public signals >= r included (snarkjs's template does not:
  CVE-2023-33252).
- ``compile``: the npm solc pinned in package.json (0.8.28) through standard JSON, with pinned
  settings (``evmVersion`` cancun, optimizer), the EIP-170 / EIP-3860 size limits, a disk cache.
- ``chain``: ``Chain.embedded()`` / ``Chain.connect(url)``, deploy, call and transact with explicit
  gas; ``VerifierContract`` (``deploy_verifier``) with ``verify`` and ``verify_transaction``.

The rollup contract (batches, deposits, withdrawals, forced exits) comes next, in this package.
See ../shared/ARCHITECTURE.md.
"""
