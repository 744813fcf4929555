"""Verifier contract: the Solidity PLONK verifier rendered from a verifying key, the Rollup
contract that checks each batch's proof and stores the new state root, and their deployment on
an embedded EVM (web3 + eth-tester/py-evm).

Empty at the foundation stage (the BN254 arithmetic engine). Filled by the on-chain-verifier
and rollup-contract issue. See ../shared/ARCHITECTURE.md.
"""
