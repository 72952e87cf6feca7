"""Counts as people write them: "1 new article", "2 new articles"."""

from __future__ import annotations


def count(number: int, noun: str) -> str:
    """`number` and `noun`, plural unless it is one ("1 feed", "0 feeds", "2 new articles")."""
    return f"{number} {noun}{'' if number == 1 else 's'}"

