"""Generate a program for the architecture its ``main`` names: v1model or TNA.

``tna.py`` builds on the v1model generator (``gen.Gen``), so the choice is made
here, above both, and neither imports the other back.
"""

from __future__ import annotations

from targets.p4sim.compiler.env import Env
from targets.p4sim.compiler.gen import Gen, Generated
from targets.p4sim.compiler.tna import generate_tna


def generate(env: Env) -> Generated:
    gen = Gen(env)
    main = gen.tna_main()
    return generate_tna(gen, main) if main is not None else gen.generate()
