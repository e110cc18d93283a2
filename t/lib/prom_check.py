#!/usr/bin/python3
# Reads a /metrics page on stdin with python3-prometheus-client's parser and
# says whether it is valid text exposition format as the Go parser wants
# it: every family once, with its HELP and TYPE, its samples together;
# histograms whole (buckets cumulative, +Inf equal to _count).  Then the
# families named on the command line: type, label names, bucket bounds.

import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
problems = []
families = {}

for family in text_string_to_metric_families(text):
    if family.name in families:
        problems.append("family %s twice (samples apart)" % family.name)
    families[family.name] = family

    if family.type in ("untyped", "unknown"):
        problems.append("family %s has no TYPE" % family.name)

    if not family.documentation:
        problems.append("family %s has no HELP" % family.name)

    if family.type != "histogram":
        continue

    series = {}
    for s in family.samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "count": None})
        if s.name.endswith("_bucket"):
            series[key]["buckets"].append((s.labels["le"], s.value))
        elif s.name.endswith("_count"):
            series[key]["count"] = s.value

    for key, h in series.items():
        values = [v for _, v in h["buckets"]]
        if values != sorted(values):
            problems.append("%s%s: buckets not cumulative" % (family.name, key))
        if not h["buckets"] or h["buckets"][-1][0] != "+Inf" \
                or h["buckets"][-1][1] != h["count"]:
            problems.append("%s%s: +Inf is not _count" % (family.name, key))

print("invalid: " + "; ".join(problems) if problems else
      "valid, %d families" % len(families) if len(sys.argv) < 2 else "valid")

for name in sys.argv[1:]:
    family = families.get(name)
    if family is None:
        print("%s missing" % name)
        continue

    labels = sorted({k for s in family.samples for k in s.labels})
    line = "%s %s labels=%s" % (name, family.type, ",".join(labels))

    les = []
    for s in family.samples:
        if s.name.endswith("_bucket") and s.labels["le"] not in les:
            les.append(s.labels["le"])
    if les:
        line += " le=" + ",".join(les)

    print(line)
