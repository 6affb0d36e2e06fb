"""The integer codes the kernels read and write, in one place.

Kernels import only NumPy and Numba, so they cannot read :mod:`backgrid.engine.enums`; these plain
integers are the enums' values, and a test checks every one against its enum member.
"""

from __future__ import annotations

# decisions and pending orders (COLUMN_STATE.pending): the side of an entry, or an exit
NONE = 0
GO_LONG = 1
GO_SHORT = -1
EXIT = 2

# ExitReason
R_SIGNAL = 0
R_STOP = 1
R_TAKE = 2
R_TRAIL = 3
R_TIME = 4
R_END = 5
R_SESSION = 6
R_RISK = 7
R_RUIN = 8
R_MARGIN = 9

# SizeType
S_UNITS = 0
S_CASH = 1
S_EQUITY = 2
S_RISK = 3
S_VOLATILITY = 4

# EntryType, also the OrderType of an entry: market 0, limit 1, stop 2
E_MARKET = 0
E_LIMIT = 1
E_STOP = 2

# OrderType of an exit: T_STOP_LOSS - R_STOP + its ExitReason, or T_SIGNAL_EXIT for a signal
T_STOP_LOSS = 3
T_SIGNAL_EXIT = 7

# OrderStatus
FILLED = 0
REJECTED = 1

# OrderReason
X_NONE = 0
X_NO_CASH = 1
X_SIZE_ZERO = 2
X_MAX_POSITIONS = 3
X_EXPIRED = 4
X_CANCELLED = 5
X_NO_PRICE = 6
X_MAX_EXPOSURE = 7
