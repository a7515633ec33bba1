#!/usr/bin/env python3
"""Write N landform_data resources in chains of 10 (each depends on the one
before) to DIR/main.lf, for the apply and plan benchmarks.

    bench/gen-chains.py 10000 /tmp/chains
"""
import os
import sys

n, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "main.lf"), "w") as f:
    for i in range(n):
        f.write(f'resource "landform_data" "r{i}" {{\n')
        if i % 10 == 0:
            f.write(f'  input = {{ index = {i}, name = "chain-{i // 10}" }}\n')
        else:
            f.write(f'  input = {{ index = {i}, parent = landform_data.r{i - 1}.id }}\n')
        f.write("}\n\n")
