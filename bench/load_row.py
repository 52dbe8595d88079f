#!/usr/bin/env python3
"""One markdown table row from a `rill load --json` result.

    load_row.py RESULT.json NAME [--notes] [EXTRA ...]
    load_row.py --header [--notes] [EXTRA_TITLE ...]   (the header and rule)

Columns: NAME, commands/s, ack p50 / p99, `after` p50 / p99 (samples), with
--notes the change-note p50 / p99, then each EXTRA as given. Latencies in us.
Used by bench/proj_wake.sh and bench/up_load.sh.
"""
import json
import sys


def us(v):
    return f"{v:.0f}" if v is not None else "-"


def header(rest):
    notes = bool(rest) and rest[0] == "--notes"
    titles = ["variant", "cmd/s", "ack p50 / p99 us", "after p50 / p99 us (samples)"]
    if notes:
        titles.append("note p50 / p99 us")
    titles += rest[1:] if notes else rest
    print("| " + " | ".join(titles) + " |")
    print("|" + "---|" * len(titles))


def main(argv):
    if argv[1] == "--header":
        header(argv[2:])
        return
    path, name, rest = argv[1], argv[2], argv[3:]
    notes = bool(rest) and rest[0] == "--notes"
    extra = rest[1:] if notes else rest
    j = json.load(open(path))
    ack, after = j["latency_us"], j.get("after_us", {})
    cells = [name, f"{j['throughput']:.0f}", f"{us(ack['p50'])} / {us(ack['p99'])}",
             f"{us(after.get('p50'))} / {us(after.get('p99'))} ({after.get('count', 0)})"]
    if notes:
        n = j.get("notified_us", {})
        cells.append(f"{us(n.get('p50'))} / {us(n.get('p99'))}")
    print("| " + " | ".join(cells + extra) + " |")


if __name__ == "__main__":
    main(sys.argv)
