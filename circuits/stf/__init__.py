"""Parts of the batch circuit (``circuits.state_transition`` is its public entry point)."""
