"""What every recipe shares: the result record, target checks, the command line, printing.

A recipe is a module ``recipes/NAME.py`` with

* a module docstring whose first line is its title (``lamina recipe --list`` shows it);
* ``run(full: bool = False, seed: int = 0) -> dict`` returning :func:`result` (below);
* ``main(argv: list[str] | None = None) -> dict`` which is just ``return cli(run, argv)``.

See ``recipes/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b, ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b, "<": lambda a, b: a < b,
}


def target(metric: str, op: str, value: float | str) -> dict[str, Any]:
    """A target: ``metric op value``; ``value`` may name another metric or baseline."""
    if op not in OPS:
        raise ValueError(f"op must be one of {list(OPS)}, got {op!r}")
    return {"metric": metric, "op": op, "value": value}


def result(name: str, *, full: bool, data: str, metrics: dict[str, float],
           baselines: dict[str, float], targets: Sequence[dict[str, Any]], seconds: float,
           notes: Sequence[str] = (), extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The record a recipe's ``run`` returns (JSON-able).

    ``metrics`` are lamina's numbers, ``baselines`` the named competitors measured in the same
    run; each target compares a metric with a number or with another metric/baseline. Targets
    are the issue's figures for the *full* data; quick runs report them but their floors are
    the tests'.
    """
    checks = [check(t, metrics, baselines) for t in targets]
    return {
        "recipe": name, "full": full, "data": data,
        "metrics": {k: float(v) for k, v in metrics.items()},
        "baselines": {k: float(v) for k, v in baselines.items()},
        "targets": checks, "target_met": all(c["met"] for c in checks),
        "seconds": round(float(seconds), 1), "notes": list(notes),
        "machine": machine(), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        **(extra or {}),
    }


def check(t: dict[str, Any], metrics: dict[str, float],
          baselines: dict[str, float]) -> dict[str, Any]:
    known = {**baselines, **metrics}
    value = t["value"]
    bound = float(known[value]) if isinstance(value, str) else float(value)
    got = float(known[t["metric"]])
    return {**t, "bound": bound, "got": got, "met": bool(OPS[t["op"]](got, bound))}


def machine() -> str:
    return f"{os.cpu_count()}-core {platform.machine()} CPU ({platform.system()})"


def cli(run: Callable[..., dict[str, Any]], argv: Sequence[str] | None = None,
        name: str = "") -> dict[str, Any]:
    """Parse ``--full``, ``--seed`` and ``--out``, run, print the report, save ``result.json``."""
    parser = argparse.ArgumentParser(prog=f"lamina recipe {name}".strip(),
                                     description=(run.__doc__ or "").strip().split("\n")[0])
    parser.add_argument("--full", action="store_true", help="Run on the full data (minutes); "
                        "default: a quick seeded subset.")
    parser.add_argument("--seed", type=int, default=0, help="Random seed (default 0).")
    parser.add_argument("--out", default="", help="Folder to write result.json into.")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: "
                        "torch's default). On a shared machine 1 is often much faster.")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    res = run(full=args.full, seed=args.seed)
    res.setdefault("seconds", round(time.perf_counter() - start, 1))
    print(format_result(res))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "result.json").write_text(json.dumps(res, indent=2), encoding="utf-8")
        print(f"wrote {out / 'result.json'}")
    return res


def format_result(res: dict[str, Any]) -> str:
    """A plain-text report: metrics against baselines and targets."""
    mode = "full data" if res["full"] else "quick subset (targets apply to --full)"
    lines = [f"recipe {res['recipe']} — {mode}", f"  data: {res['data']}"]
    width = max(len(k) for k in [*res["metrics"], *res["baselines"], "x"])
    lines.append("  lamina:")
    lines += [f"    {k:<{width}}  {v:.4f}" for k, v in res["metrics"].items()]
    lines.append("  baselines (same run):")
    lines += [f"    {k:<{width}}  {v:.4f}" for k, v in res["baselines"].items()]
    # the targets are for the full data; a quick subset shows where it stands, not a verdict
    lines.append("  targets:" if res["full"] else "  targets (of the full run; this subset is "
                 "smaller, so only indicative):")
    for c in res["targets"]:
        ref = c["value"] if isinstance(c["value"], str) else f"{c['bound']:g}"
        bound = f" ({c['bound']:.4f})" if isinstance(c["value"], str) else ""
        verdict = ("met" if c["met"] else "NOT met") if res["full"] else \
            ("at or past it" if c["met"] else "below it here")
        lines.append(f"    {c['metric']} {c['op']} {ref}{bound}: got {c['got']:.4f} -> {verdict}")
    lines += [f"  note: {n}" for n in res.get("notes", [])]
    lines.append(f"  {res['seconds']:.1f} s on {res['machine']}")
    return "\n".join(lines)


class Timer:
    """``with Timer() as t: ...; t.seconds``."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
