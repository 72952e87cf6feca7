"""docbao: a terminal feed reader ("đọc báo", reading the news)."""

__version__ = "0.1.0"
USER_AGENT = f"docbao/{__version__} (+https://github.com/docbao/docbao)"
