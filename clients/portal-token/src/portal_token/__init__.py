"""portal-token: the Token Portal's command-line client (``requests`` only, no Django)."""

__version__ = "0.1.0"
