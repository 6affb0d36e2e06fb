import pytest

from backgrid.data.timeframe import TIMEFRAMES, Timeframe
from backgrid.errors import DataError, TimeframeError


@pytest.mark.parametrize(("text", "minutes"), [("1m", 1), ("5m", 5), ("15m", 15), ("30m", 30), ("1h", 60),
                                               ("4h", 240), ("1d", 1440), ("1w", 10080)])
def test_parse_gives_length(text, minutes):
    assert Timeframe.parse(text).nanos == minutes * 60 * 10**9
    assert Timeframe.parse(text).seconds == minutes * 60


@pytest.mark.parametrize(("alias", "code"), [("60min", "1h"), ("1D", "1d"), (" 15MIN ", "15m"), ("W", "1w")])
def test_aliases(alias, code):
    assert Timeframe.parse(alias).code == code


@pytest.mark.parametrize("bad", ["2m", "1y", "", "h1", "1 hour", "-1m", "3d"])
def test_unsupported_timeframes_name_the_choices(bad):
    with pytest.raises(TimeframeError, match="expected one of 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w") as info:
        Timeframe.parse(bad)
    assert isinstance(info.value, DataError)
    assert isinstance(info.value, ValueError)


def test_non_string_is_rejected_with_its_type():
    with pytest.raises(TimeframeError, match="got int 60"):
        Timeframe.parse(60)  # type: ignore[arg-type]


def test_order_and_divisibility():
    frames = [Timeframe(c) for c in TIMEFRAMES]
    assert frames == sorted(frames)
    assert Timeframe("15m").divides(Timeframe("1h"))
    assert not Timeframe("1h").divides(Timeframe("15m"))
    assert Timeframe("1h").is_intraday
    assert not Timeframe("1d").is_intraday
    assert Timeframe("4h").pandas_freq == "4h"
    assert str(Timeframe("1w")) == "1w"
