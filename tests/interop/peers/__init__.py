"""Real-peer harness: GoBGP, BIRD, FRR bgpd and ExaBGP in network namespaces.

Layout of a lab (``netns.make_lab``): namespace ``peer`` runs the daemon on
``lab.peer_ip`` (and ``lab.peer_ip6``); namespace ``us`` holds the test-side
addresses ``lab.us_ips`` / ``lab.us_ip6s``; a veth joins them. Names carry the
test pid, so parallel runs and leftovers from a killed run never clash.

Pieces:

* ``fixtures.bgp_lab``: ``bgp_lab.start(kind, families=..., clients=2, rr=True,
  configure=...)`` returns a ``RunningPeer``; ``peer.connect(i)`` gives an
  established :class:`rawbgp.RawSpeaker` from ``us_ips[i]``. For sessions run by
  our own asyncio speaker, make the socket with
  ``peer.lab.us.tcp_connect(src, dst, 179)`` (or ``tcp_listen(addr, 179)`` when the
  daemon is active: ``Neighbor.passive=False``) and hand it to
  ``asyncio.open_connection(sock=...)``.
* Daemon wrappers (``gobgp.GoBgp``, ``bird.Bird``, ``frr.FrrBgpd``,
  ``exabgp.ExaBgp``): config templating, ``wait_established(neighbor)``, RIB
  queries (``rib(family)`` JSON for GoBGP and FRR, ``routes(family)`` text for
  BIRD, ``received_updates()`` for ExaBGP) and injection
  (``GoBgp.add_route``, ``ExaBgp.api``; BIRD/FRR via ``configure``).
* ``capture.Capture``: tshark on the lab veth; ``capture_vectors`` regenerates
  the golden vectors in tests/controller/bgp/wire/vectors.

Daemons are pure BGP speakers (no FIB): FRR runs ``bgpd -Z -n``. Missing
binaries skip the test naming the binary; scripts/setup.sh installs them all.
"""
