"""IKEv2 key material: PRFs, Diffie-Hellman groups, SK payload ciphers, key derivation."""
