#!/usr/bin/env python3
"""Write N independent local_exec resources that each sleep 0.2 s.

    bench/gen-sleeps.py 200 /tmp/sleeps
"""
import os
import sys

n, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "main.lf"), "w") as f:
    f.write(f'resource "local_exec" "sleep" {{\n  count  = {n}\n  create = "sleep 0.2"\n}}\n')
