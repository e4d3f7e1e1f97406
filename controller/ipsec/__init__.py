"""IPsec for the C-PE: the IKEv2 daemon (ike/), the SA database, and the ESP data path.

The two halves meet only at :mod:`controller.ipsec.installer`; the ESP engine
(esp/) talks to the switch through the crypto-port header of
:mod:`controller.ipsec.crypto_port`.
"""
