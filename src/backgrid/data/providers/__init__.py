"""Market-data vendors: one adapter module each (imported lazily, each an extra), behind the
:class:`~backgrid.data.sources.base.DataSource` port, and what they share (:mod:`.base`)."""

from backgrid.data.providers.base import Capabilities, Provider, credential, vendor_bars

__all__ = ["Capabilities", "Provider", "credential", "vendor_bars"]
