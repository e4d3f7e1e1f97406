"""p4sim against p4c's own test corpus (p4c ``testdata/``, read where it lies).

``python -m targets.p4sim.corpus [TESTDATA]`` (or ``SL3VPN_P4C_TESTDATA``) runs
every v1model STF sample through the code behind ``sl3vpn p4sim stf``, compares
p4sim's P4Info with p4c's ``*-bmv2.p4.p4info.txtpb`` goldens, checks that every
v1model program of ``p4_16_errors`` is rejected with a ``file:line:col``
diagnostic, and counts internal errors. See ``cli.py`` for the options.
"""

from targets.p4sim.corpus.cases import Case, discover, find_testdata

__all__ = ["Case", "discover", "find_testdata"]
