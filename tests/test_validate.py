"""ccodec.validate.check_int: one message style for every integer option."""

from __future__ import annotations

import numpy as np
import pytest

from ccodec import OptionError
from ccodec.validate import check_int


@pytest.mark.parametrize(
    ("value", "low", "high", "message"),
    [
        (True, 0, None, "n=True should be an integer >= 0."),
        (1.0, 0, None, "n=1.0 should be an integer >= 0."),
        ("3", 0, 9, "n='3' should be an integer in 0..9."),
        (-1, 0, None, "n=-1 should be an integer >= 0."),
        (10, 0, 9, "n=10 should be an integer in 0..9."),
        (np.int64(10), 0, 9, "n=10 should be an integer in 0..9."),
    ],
)
def test_refusals_share_one_message(value, low, high, message):
    with pytest.raises(OptionError) as info:
        check_int("n", value, low, high)
    assert str(info.value) == message


def test_scope_ends_the_message():
    with pytest.raises(OptionError, match=r"^q=0 should be an integer in 1..95 for JPEG\.$"):
        check_int("q", 0, 1, 95, scope=" for JPEG")


def test_accepted_values_come_back_as_int():
    assert check_int("n", np.uint16(7), 0, 9) == 7
    assert type(check_int("n", np.uint16(7), 0, 9)) is int
    assert check_int("n", 0, 0) == 0
