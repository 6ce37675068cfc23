"""Validate a JSON document against a JSON schema (any draft the schema declares).

Usage: json_schema_check.py SCHEMA INSTANCE. Exit 0 when valid; 1 and the errors otherwise.
"""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1], encoding="utf-8"))
instance = json.load(open(sys.argv[2], encoding="utf-8"))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
errors = sorted(cls(schema).iter_errors(instance), key=lambda e: list(e.path))
for e in errors:
    print(f"{'/'.join(str(p) for p in e.path)}: {e.message}")
sys.exit(1 if errors else 0)
