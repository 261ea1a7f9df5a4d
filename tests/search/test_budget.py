"""Budget strings: what users type, and clear errors for what they mistype."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lamina import ParameterError
from lamina.search import format_seconds, parse_budget


@pytest.mark.parametrize("text, seconds", [
    ("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("1h30m", 5400.0), ("1.5m", 90.0),
    ("250ms", 0.25), ("2min", 120.0), ("90", 90.0), (" 10 s ", 10.0), ("1d", 86400.0),
    (45, 45.0), (0.5, 0.5), ("1H", 3600.0),
])
def test_accepted_forms(text: object, seconds: float) -> None:
    assert parse_budget(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "5 minutes", "m5", "5x", "-3s", "0", 0, -1.0, "1h-5m",
                                 float("nan"), float("inf"), True, None, [5]])
def test_rejected_with_message_naming_the_value(bad: object) -> None:
    with pytest.raises(ParameterError) as info:
        parse_budget(bad)
    msg = str(info.value)
    assert msg.startswith("Invalid budget=")
    assert repr(bad)[:20] in msg
    assert "5m" in msg or "30s" in msg                 # a fix is suggested


def test_param_name_is_quoted_for_the_cli() -> None:
    with pytest.raises(ParameterError, match=r"Invalid --budget='10 mins'.*'30s', '5m', '1h'"):
        parse_budget("10 mins", "--budget")


@given(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59))
def test_compound_durations_add_up(h: int, m: int, s: int) -> None:
    total = 3600 * h + 60 * m + s
    text = (f"{h}h" if h else "") + (f"{m}m" if m else "") + f"{s}s"
    if total == 0:
        with pytest.raises(ParameterError):
            parse_budget(text)
    else:
        assert parse_budget(text) == total


def test_format_seconds() -> None:
    assert [format_seconds(v) for v in (3.25, 42, 75, 3700)] == ["3.2s", "42s", "1m15s", "1h01m"]
