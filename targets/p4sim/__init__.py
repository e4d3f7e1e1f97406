"""p4sim: a software P4_16 target running v1model programs with BMv2's semantics."""
