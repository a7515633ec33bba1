#!/usr/bin/env python3
"""Write N landform_data resources in chains of 10 (each depends on the one
before) to DIR/main.lf, for the apply and plan benchmarks. With CHANGED, that
many resources, spread evenly, carry one more input attribute: applied
without it first, the configuration then plans CHANGED in-place updates.

    bench/gen-chains.py 10000 /tmp/chains
    bench/gen-chains.py 1000000 /tmp/chains 1000
"""
import os
import sys

n, out = int(sys.argv[1]), sys.argv[2]
changed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
every = n // changed if changed else 0
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "main.lf"), "w") as f:
    for i in range(n):
        extra = ", rev = 2" if every and i % every == every - 1 else ""
        f.write(f'resource "landform_data" "r{i}" {{\n')
        if i % 10 == 0:
            f.write(f'  input = {{ index = {i}, name = "chain-{i // 10}"{extra} }}\n')
        else:
            f.write(f'  input = {{ index = {i}, parent = landform_data.r{i - 1}.id{extra} }}\n')
        f.write("}\n\n")
