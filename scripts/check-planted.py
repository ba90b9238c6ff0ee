#!/usr/bin/env python3
"""Compare vendorwatch EVE alerts with gen-mix's FILE.planted.tsv.

usage: check-planted.py EVE PLANTED_TSV [REQUIRED_KINDS]

Prints found/planted per kind and alerts on frames nothing was planted in (false positives).
Exit 0 when every planted observation of the required kinds (comma-separated, default
every kind the generator plants) was found and there is no false positive.
"""
import json
import sys
from collections import Counter

eve, tsv = sys.argv[1], sys.argv[2]
required = set((sys.argv[3] if len(sys.argv) > 3 else "dns-query,tls-sni,tls-sni-split,http-host,tunneled").split(","))
alerts = {}
for line in open(eve, encoding="utf-8"):
    e = json.loads(line)
    if e.get("event_type") != "alert":
        continue
    names = e["alert"].get("metadata", {}).get("matched_name", [])
    alerts.setdefault(e["pcap_cnt"], set()).update(n.lower() for n in names)
planted, found, kinds = Counter(), Counter(), []
planted_frames = set()
for line in open(tsv, encoding="utf-8"):
    if line.startswith("#"):
        continue
    frame, kind, name, _note = line.rstrip("\n").split("\t")
    frame = int(frame)
    planted_frames.add(frame)
    if kind not in kinds:
        kinds.append(kind)
    planted[kind] += 1
    if name.lower() in alerts.get(frame, ()):
        found[kind] += 1
false_pos = sorted(set(alerts) - planted_frames)
ok = not false_pos
seen = []
for kind in ["dns-query", "tls-sni", "tls-sni-split", "http-host", "tunneled"] + kinds:
    if kind in seen or kind not in planted:
        continue
    seen.append(kind)
    need = kind in required
    complete = found[kind] == planted[kind]
    if need and not complete:
        ok = False
    status = "ok" if complete else ("MISSING" if need else "not yet (pending feature)")
    print(f"  {kind:<14} found {found[kind]:>7} / {planted[kind]:<7} {status}")
print(f"  alerts on frames with nothing planted (false positives): {len(false_pos)}"
      + (f" e.g. frames {false_pos[:5]}" if false_pos else ""))
print("  verdict: " + ("every required planted observation found" if ok else "FAILED"))
sys.exit(0 if ok else 1)
