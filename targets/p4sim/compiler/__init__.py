"""Checked IR and code generation: AST -> specialised Python per block."""
