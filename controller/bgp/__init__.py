"""BGP for the Secured L3VPN: wire codecs (``wire``), sans-I/O core and asyncio adapter.

Layering, bottom up: ``controller.bgp.wire`` turns bytes into message and
attribute objects and back, and knows no session state beyond a
``CodecContext``; the core modules beside it (FSM, RIBs, decision process,
route reflection, VRFs, red/black policy) work on those objects; the asyncio
adapter moves bytes between sockets and the core.
"""
