"""The screens of docbao's reading UI: they own the state and talk to the store."""
