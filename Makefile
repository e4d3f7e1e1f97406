# The two entry points of the README. Both set up what they need first.
.PHONY: demo test lint typecheck pytest pytest-tna pytest-bmv2 setup setup-dev

demo:
	@scripts/setup.sh
	.venv/bin/sl3vpn demo

# The whole suite last, so that its summary is the run's closing line (the BMv2 pass is
# all skips on a machine without the tools).
test: setup-dev lint typecheck pytest-bmv2 pytest-tna pytest

setup:
	@scripts/setup.sh

setup-dev:
	@scripts/setup.sh --dev

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck:
	.venv/bin/mypy $(wildcard controller targets)

pytest:
	.venv/bin/pytest -q --durations=25

# The packet suite again with the TNA program (p4src/cpe_tna.p4) on p4sim: the
# same tests and expected frames as cpe.p4 in `pytest`.
pytest-tna:
	SL3VPN_PROGRAM=tna .venv/bin/pytest -q bmv2_tests

# The packet suite again on BMv2 (p4c-bm2-ss + simple_switch_grpc from
# $$SL3VPN_P4_PREFIX/bin, then PATH). Without them every test is skipped and the
# summary names the missing tool; the BMv2 tests under tests/ ran in `pytest`.
pytest-bmv2:
	SL3VPN_TARGET=bmv2 .venv/bin/pytest -q bmv2_tests
