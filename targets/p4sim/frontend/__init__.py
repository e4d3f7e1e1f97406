"""P4_16 front end: preprocessor, lexer, parser (source text -> AST)."""
