#!/usr/bin/env python3
"""Write N local_file resources (one for_each block) to DIR/main.lf, for the
drift benchmark: each file is DIR/out/fNNNNN.txt with a line of content.

    bench/gen-files.py 10000 /tmp/files
"""
import os
import sys

n, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "main.lf"), "w") as f:
    names = ", ".join(f'"f{i:05d}"' for i in range(n))
    f.write(f"locals {{\n  names = [{names}]\n}}\n\n")
    f.write('resource "local_file" "f" {\n')
    f.write('  for_each = toset(local.names)\n')
    f.write('  path     = "${path.module}/out/${each.key}.txt"\n')
    f.write('  content  = "file ${each.key}: the content a drift check compares\\n"\n')
    f.write("}\n")
