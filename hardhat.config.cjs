// Minimal hardhat 2 configuration: zkperp uses hardhat only as a development JSON-RPC node
// (`zkperp chain node`, `npx hardhat node`, tests marked `node`). Contracts are compiled by
// verifier_contract/compile.py (npm solc 0.8.28, evmVersion cancun), not by hardhat.
// The chain runs Cancun rules, so the same bytecode runs here and on the embedded py-evm.
module.exports = {
  solidity: "0.8.28",
  networks: {
    hardhat: {
      chainId: 31337,
      hardfork: "cancun",
      // Room for a rollup deployment and a large batch in one block (EIP-170 still enforced).
      blockGasLimit: 100_000_000,
      allowUnlimitedContractSize: false,
      mining: { auto: true, interval: 0 },
      accounts: { count: 10 },
    },
  },
};
