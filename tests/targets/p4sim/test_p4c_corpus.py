"""p4sim against p4c's own v1model corpus, when a p4c snapshot's testdata/ is given.

Set SL3VPN_P4C_TESTDATA to p4c's ``testdata`` directory (tag v1.2.4.8) to run it.
Every case of ``p4c_corpus_expected.txt`` must still pass; a case that starts
passing is reported, and the list is then refreshed with
``python -m targets.p4sim.corpus --write-expected tests/targets/p4sim/p4c_corpus_expected.txt``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from targets.p4sim.corpus.cases import ENV_VAR, discover, find_testdata
from targets.p4sim.corpus.pool import run_cases
from targets.p4sim.corpus.report import Report, compare, read_pass_list

EXPECTED = Path(__file__).parent / "p4c_corpus_expected.txt"


@pytest.mark.slow
def test_p4c_corpus_pass_list() -> None:
    testdata = find_testdata()
    if testdata is None:
        pytest.skip(f"p4c's testdata/ not given: set {ENV_VAR} to run the corpus")
    cases = discover(testdata)
    assert len(cases) > 500, f"{testdata}: only {len(cases)} v1model cases found"
    report = Report()
    for case, outcome in run_cases(cases, jobs=1):
        report.add(case, outcome)
    regressions, improvements = compare(report, read_pass_list(EXPECTED))
    if improvements:
        warnings.warn(
            f"{len(improvements)} corpus cases now pass (update the list {EXPECTED.name}): "
            + ", ".join(improvements[:10]),
            stacklevel=1,
        )
    detail = [f"{k}: {report.outcomes[k][1].detail}" for k in regressions]
    assert not regressions, "corpus regressions:\n" + "\n".join(detail)
