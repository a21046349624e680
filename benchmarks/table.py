"""The summary table both benchmark scripts print."""

from __future__ import annotations

MET = {None: "-", True: "yes", False: "NO"}


def print_table(rows: list[dict], cols: tuple[str, ...]) -> None:
    """One row per dict, ``cols`` in order; a bool or None under "met?" prints as yes/NO/-."""
    table = [cols] + [tuple(MET[row[k]] if k == "met?" and not isinstance(row[k], str) else str(row[k]) for k in cols)
                      for row in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(cols))]
    print()
    for i, t in enumerate(table):
        print(" | ".join(cell.ljust(w) if j == 0 else cell.rjust(w) for j, (cell, w) in enumerate(zip(t, widths))))
        if i == 0:
            print("-+-".join("-" * w for w in widths))
