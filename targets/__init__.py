"""P4 targets this project can run its data plane on (p4sim is the embedded one)."""
