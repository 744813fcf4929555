"""Rollup: the perpetual-futures exchange (markets, accounts, orders, margin, funding,
liquidation), state trees, the sequencer, pubdata, storage, the operator loop and the auditor.

Empty at the foundation stage (the BN254 arithmetic engine). Filled by the exchange issue
(native rules and state) and by the operator-and-auditor issue. See ../shared/ARCHITECTURE.md.
"""
