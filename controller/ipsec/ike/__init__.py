"""IKEv2 (RFC 7296) for the C-PE: a sans-I/O core and a thin asyncio UDP adapter.

Layers, bottom up: ``wire/`` (message and payload codecs), ``crypto/`` (PRF,
Diffie-Hellman, SK payload protection, key derivation), ``sa.py`` + ``tasks/``
(the IKE SA and its exchanges as build/process tasks), ``daemon.py`` (many SAs,
dispatch, cookies), ``adapter.py`` (asyncio UDP on ports 500 and 4500).
"""
