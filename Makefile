# The two entry points of the README. Both set up what they need first.
.PHONY: demo test lint typecheck pytest setup setup-dev

demo:
	@scripts/setup.sh
	.venv/bin/sl3vpn demo

test: setup-dev lint typecheck pytest

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
	.venv/bin/pytest -q
