"""Parses an OpenMetrics exposition (stdin) with the official Python client's parser
(prometheus_client.openmetrics.parser, strict: it rejects a malformed exposition) and
prints its samples as JSON: [{"name", "labels", "value", "family", "type"}]."""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        samples.append(
            {
                "family": family.name,
                "type": family.type,
                "name": s.name,
                "labels": s.labels,
                "value": s.value,
            }
        )
print(json.dumps(samples))
