"""Configuration files built to hurt the loader: alias bombs, deep nesting, huge files,
devices and FIFOs. Each is one ConfigError line, quickly, for `config check` and the
daemons alike (both go through load_config/parse)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.cli import main
from controller.config import ConfigError, load_config, parse
from controller.config.yamlsafe import MAX_CONFIG_BYTES, MAX_DEPTH

pytestmark = pytest.mark.unit
GOOD = Path(__file__).resolve().parents[3] / "examples" / "cpe1.yml"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """``levels`` mappings of ``width`` aliases each to the one before: width**levels leaves."""
    lines = ["node: {name: x}", "a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def one_error(text: str, source: str = "t.yml") -> str:
    with pytest.raises(ConfigError) as info:
        parse(text, source)
    assert len(info.value.problems) == 1
    return info.value.lines()[0]


@pytest.mark.timeout(30)
def test_alias_bomb_is_refused_at_its_first_anchor() -> None:
    # The old loader walked all 9**9 leaves (minutes); the run's timeout catches a hang.
    line = one_error(alias_bomb())
    assert line.startswith("t.yml:2: YAML anchors and aliases")


@pytest.mark.parametrize(
    ("text", "lineno"),
    [
        ("node: {name: x}\nbase: &b {as: 1}\n", 2),  # an anchor alone
        ("x: 1\nnode:\n  <<: *b\n", 3),  # an alias to nothing defined
        ("node: !!map &n {a: 1}\n", 1),  # anchor after a tag
    ],
)
def test_any_anchor_or_alias_is_refused_with_its_line(text: str, lineno: int) -> None:
    assert one_error(text).startswith(f"t.yml:{lineno}: YAML anchors and aliases")


@pytest.mark.parametrize(
    "text",
    [
        "node: " + "[" * 5000 + "]" * 5000 + "\n",  # RecursionError in PyYAML before
        "node: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
        "node:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 300)),
    ],
    ids=["flow-seq", "flow-map", "block"],
)
def test_deep_nesting_is_a_config_error_in_parse(text: str) -> None:
    assert "YAML nests too deeply" in one_error(text)


def test_nesting_up_to_the_limit_is_still_yaml() -> None:
    # Just under the limit: parsed, and rejected by the model instead (a list is no node).
    depth = MAX_DEPTH - 2
    line = one_error("node: " + "[" * depth + "]" * depth + "\n")
    assert "nests" not in line and "node" in line


def test_oversized_text_and_file(tmp_path: Path) -> None:
    text = "node: {name: x}\n" + "#" * MAX_CONFIG_BYTES
    assert one_error(text) == "t.yml: larger than 1 MiB"
    big = tmp_path / "big.yml"
    with big.open("wb") as f:
        f.truncate(MAX_CONFIG_BYTES + 1)
    with pytest.raises(ConfigError, match=r"big\.yml: cannot read: larger than 1 MiB$"):
        load_config(big)


@pytest.mark.parametrize("kind", ["device", "fifo", "dir"])
def test_non_regular_files_are_refused_without_reading(tmp_path: Path, kind: str) -> None:
    path = Path("/dev/zero")
    if kind == "fifo":  # opening it would block until a writer comes
        path = tmp_path / "cfg.yml"
        os.mkfifo(path)
    elif kind == "dir":
        path = tmp_path
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.lines() == [f"{path}: cannot read: not a regular file"]


@pytest.mark.parametrize("role", ["cpe", "rr"])
def test_daemon_refuses_alias_bomb_and_deep_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], role: str
) -> None:
    bomb, deep = tmp_path / "bomb.yml", tmp_path / "deep.yml"
    bomb.write_text(alias_bomb())
    deep.write_text("node: " + "[" * 5000 + "]" * 5000 + "\n")
    assert main([role, "--config", str(bomb)]) == 2
    assert main([role, "--config", str(deep)]) == 2
    assert main([role, "--config", "/dev/zero"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{bomb}:2: YAML anchors and aliases (&name, *name, <<: *name) are not supported "
        "in a configuration: write the values out",
        f"{deep}:1: YAML nests too deeply (more than {MAX_DEPTH} levels)",
        "/dev/zero: cannot read: not a regular file",
    ]


def test_config_check_goes_on_after_a_bomb(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = tmp_path / "bomb.yml"
    bomb.write_text(alias_bomb())
    assert main(["config", "check", "--no-secrets", str(bomb), str(GOOD)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"{bomb}:2: YAML anchors and aliases")
    assert captured.out == f"{GOOD}: ok (cpe cpe1)\n"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(["node:", " &a", " *a", " [", "]", " {", "}", "\n  k:", " 1", ",", "<<:"]),
        max_size=40,
    )
)
def test_hostile_fragments_give_config_errors_only(parts: list[str]) -> None:
    text = "".join(parts)
    try:
        parse(text, "t.yml")
    except ConfigError as exc:
        assert all(line.startswith("t.yml") and "\n" not in line for line in exc.lines())


def test_plain_configs_still_load_like_safe_load() -> None:
    text = GOOD.read_text()
    assert "&" not in text and "*" not in text.replace("**", "")
    cfg = parse(text, str(GOOD), GOOD.parent, resolve_secrets=False)
    assert cfg.node.name == yaml.safe_load(text)["node"]["name"]
