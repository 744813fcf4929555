"""Rollup: the perpetual-futures exchange (markets, accounts, orders, margin, funding,
liquidation), state trees, the sequencer, pubdata, storage, the operator loop and the auditor.

- ``types``: constants, bounds, markets, accounts, orders, transactions, pubdata records,
  signed-message layouts; ``rules``: the fixed-point rules; ``errors``: typed rejections;
- ``state``: ``State(genesis)``: ``check`` / ``apply(tx, now)`` (a ``Receipt``, or a
  ``RollupError`` and no change), Poseidon roots, snapshots, ``apply_record`` for replays;
- ``pubdata``: the byte-exact on-chain encoding of each record, and ``rebuild`` from it;
- ``orderbook``: price-time matching (GTC / IOC / post-only, signed cancels) into trades;
- ``batch``: the requests the sequencer takes and the batches it cuts;
- ``sequencer``: ``Sequencer``: validate and apply requests in order, cut batches (roots,
  timestamp window, padding to circuit shapes, pubdata), persist, recover;
- ``storage``: the SQLite (WAL) database: accepted requests, batches, snapshots, atomically;
- ``requests_json``: strict JSON for requests, transactions and the genesis, with JSON Schemas.

See ../shared/ARCHITECTURE.md for where the circuit (issue E), the contract (F) and the operator
loop and auditor (G) fit.
"""
