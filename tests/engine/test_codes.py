"""The kernels' integer codes (``kernels/codes.py``) equal the enums of ``engine/enums.py``, member by member."""

from enum import IntEnum

import pytest

from backgrid.engine.enums import EntryType, ExitReason, OrderReason, OrderStatus, OrderType, SizeType
from backgrid.engine.kernels import codes, portfolio_nb, simulate_nb

#: every kernel code and the enum member it stands for
MEMBERS: dict[str, IntEnum] = {
    "R_SIGNAL": ExitReason.SIGNAL, "R_STOP": ExitReason.STOP_LOSS, "R_TAKE": ExitReason.TAKE_PROFIT,
    "R_TRAIL": ExitReason.TRAILING_STOP, "R_TIME": ExitReason.TIME, "R_END": ExitReason.END,
    "R_SESSION": ExitReason.SESSION, "R_RISK": ExitReason.RISK, "R_RUIN": ExitReason.RUIN,
    "R_MARGIN": ExitReason.MARGIN_CALL,
    "S_UNITS": SizeType.UNITS, "S_CASH": SizeType.CASH, "S_EQUITY": SizeType.EQUITY,
    "S_RISK": SizeType.RISK, "S_VOLATILITY": SizeType.VOLATILITY,
    "E_MARKET": EntryType.MARKET, "E_LIMIT": EntryType.LIMIT, "E_STOP": EntryType.STOP,
    "T_STOP_LOSS": OrderType.STOP_LOSS, "T_SIGNAL_EXIT": OrderType.SIGNAL_EXIT,
    "FILLED": OrderStatus.FILLED, "REJECTED": OrderStatus.REJECTED,
    "X_NONE": OrderReason.NONE, "X_NO_CASH": OrderReason.NO_CASH, "X_SIZE_ZERO": OrderReason.SIZE_ZERO,
    "X_MAX_POSITIONS": OrderReason.MAX_POSITIONS, "X_EXPIRED": OrderReason.EXPIRED,
    "X_CANCELLED": OrderReason.CANCELLED, "X_NO_PRICE": OrderReason.NO_PRICE,
    "X_MAX_EXPOSURE": OrderReason.MAX_EXPOSURE,
}
#: codes of the kernels' own decisions, with no enum
INTERNAL = {"NONE", "GO_LONG", "GO_SHORT", "EXIT"}


def _kernel_codes() -> dict[str, int]:
    return {name: value for name, value in vars(codes).items() if name.isupper() and isinstance(value, int)}


@pytest.mark.parametrize(("name", "member"), MEMBERS.items())
def test_each_kernel_code_equals_its_enum_member(name, member):
    assert getattr(codes, name) == member.value


def test_every_kernel_code_is_checked_and_every_enum_member_has_a_code():
    assert set(_kernel_codes()) == set(MEMBERS) | INTERNAL
    covered = set(MEMBERS.values())
    for enum in (ExitReason, SizeType, EntryType, OrderStatus, OrderReason):
        assert [m for m in enum if m not in covered] == [], enum.__name__


def test_the_kernels_read_the_codes_from_one_place():
    for kernel in (simulate_nb, portfolio_nb):
        for name, value in vars(kernel).items():
            if name in _kernel_codes():
                assert value is getattr(codes, name), f"{kernel.__name__}.{name} is not codes.{name}"


def test_an_exit_order_type_follows_from_its_exit_reason():
    # the kernels write T_STOP_LOSS - R_STOP + reason for every exit but a signal's (an END trade has no order)
    for reason in ExitReason:
        if reason in (ExitReason.SIGNAL, ExitReason.END):
            continue
        assert OrderType(codes.T_STOP_LOSS - codes.R_STOP + reason.value).name == reason.name
    for entry in EntryType:
        assert OrderType(entry.value).name == entry.name
