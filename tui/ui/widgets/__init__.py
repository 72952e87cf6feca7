"""The widgets of docbao's reading UI: each owns its behaviour and reports with messages."""
