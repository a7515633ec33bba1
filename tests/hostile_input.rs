//! Input that used to crash or hang the process: each must end in a clear
//! error with file:line:col and exit 1 — no panic, no abort, no hang.

mod common;
use common::{text, Fixture};
use std::time::{Duration, Instant};

/// Run `validate` and `plan` on a configuration; both must fail cleanly, naming
/// `summary` at main.lf.
fn refused(name: &str, config: &str, summary: &str) {
    let f = Fixture::new(&format!("hostile-{name}"), config);
    for cmd in ["validate", "plan"] {
        let started = Instant::now();
        let out = f.run(&[cmd]);
        let err = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: {cmd} must exit 1, not crash:\n{}",
            &err[..err.len().min(2000)]
        );
        assert!(err.contains(summary), "{name}: {cmd} must say {summary:?}:\n{}", &err[..err.len().min(2000)]);
        assert!(err.contains("--> main.lf:"), "{name}: {cmd} must point at the file: {}", &err[..err.len().min(500)]);
        assert!(started.elapsed() < Duration::from_secs(30), "{name}: {cmd} took {:?}", started.elapsed());
    }
}

fn output(expr: &str) -> String {
    format!("output \"x\" {{\n  value = {expr}\n}}\n")
}

#[test]
fn deep_nesting_of_every_kind_is_refused() {
    let deep = "Expression nested too deeply";
    refused("parens", &output(&format!("{}1{}", "(".repeat(500), ")".repeat(500))), deep);
    refused("flat-sum", &output(&vec!["1"; 20_000].join("+")), deep);
    refused("lists", &output(&format!("{}{}", "[".repeat(1000), "]".repeat(1000))), deep);
    refused("objects", &output(&format!("{}1{}", "{a=".repeat(1000), "}".repeat(1000))), deep);
    refused("calls", &output(&format!("{}\"a\"{}", "upper(".repeat(1000), ")".repeat(1000))), deep);
    refused("interpolations", &output(&format!("{}1{}", "\"${".repeat(1000), "}\"".repeat(1000))), deep);
    refused("fors", &output(&format!("{}1{}", "[for a in b : ".repeat(1000), "]".repeat(1000))), deep);
    refused("blocks", &format!("{}{}", "a {\n".repeat(10_000), "}\n".repeat(10_000)), deep);
    refused("conditionals", &output(&format!("{}1", "true ? 1 : ".repeat(10_000))), deep);
    refused("indexes", &output(&format!("var.x{}", "[0]".repeat(100_000))), deep);
    refused("attributes", &output(&format!("var.x{}", ".a".repeat(100_000))), deep);
}

#[test]
fn nesting_within_the_limit_still_works() {
    let f = Fixture::new("hostile-within", &output(&format!("{}1{}", "(".repeat(200), ")".repeat(200))));
    f.ok(&["validate"]);
    f.ok(&["apply", "--auto-approve"]);
    assert!(f.ok(&["output", "x"]).trim() == "1");
}

#[test]
fn huge_counts_are_refused() {
    let res = |n: &str| format!("resource \"landform_data\" \"x\" {{\n  count = {n}\n  input = 1\n}}\n");
    refused("count-1e18", &res("1e18"), "more than the 100000 instances");
    refused("count-1e9", &res("1e9"), "more than the 100000 instances");
}

#[test]
fn values_that_grow_without_bound_are_refused() {
    refused("format-precision", &output("format(\"%.4000000000f\", 1)"), "too large");
    refused("format-width", &output("format(\"%4000000000d\", 1)"), "too large");
    let doubling = |first: &str, step: &dyn Fn(usize) -> String| {
        let mut s = format!("locals {{\n  l0 = {first}\n");
        for i in 0..40 {
            s.push_str(&format!("  l{} = {}\n", i + 1, step(i)));
        }
        s + "}\n"
    };
    refused(
        "double-string",
        &doubling("\"ab\"", &|i| format!("\"${{local.l{i}}}${{local.l{i}}}\"")),
        "Value too large",
    );
    refused("double-concat", &doubling("[1]", &|i| format!("concat(local.l{i}, local.l{i})")), "Value too large");
    refused("double-nest", &doubling("[1]", &|i| format!("[local.l{i}, local.l{i}]")), "Value too large");
    let mut chain = "locals {\n  l0 = [1]\n".to_string();
    for i in 0..2000 {
        chain.push_str(&format!("  l{} = [local.l{i}]\n", i + 1));
    }
    refused("deep-value", &(chain + "}\n"), "Value too large");
}

#[test]
fn modules_that_link_back_to_themselves_are_a_cycle() {
    let f = Fixture::new("hostile-symlinks", "module \"a\" {\n  source = \"./m\"\n}\n");
    std::fs::create_dir_all(f.path("m")).unwrap();
    std::os::unix::fs::symlink(".", f.path("m/self")).unwrap();
    std::os::unix::fs::symlink(".", f.path("m/other")).unwrap();
    std::fs::write(
        f.path("m/main.lf"),
        "module \"x\" {\n  source = \"./self\"\n}\nmodule \"y\" {\n  source = \"./other\"\n}\n",
    )
    .unwrap();
    let started = Instant::now();
    let out = f.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("Module cycle"), "{}", text(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn format_supports_terraforms_flags() {
    let f = Fixture::new(
        "format-flags",
        &output(r#"format("%03d|%-5s|%5.1f|%.2f|%q|%t|%v|%x|%+d", 7, "ab", 3.14159, 2.5, "q", true, "v", 255, 3)"#),
    );
    f.ok(&["apply", "--auto-approve"]);
    assert_eq!(f.ok(&["output", "x"]).trim(), r#"007|ab   |  3.1|2.50|"q"|true|v|ff|+3"#);
}

#[test]
fn a_value_too_deep_for_the_state_is_refused_when_planning_and_one_that_fits_round_trips() {
    let nested = |n: usize| format!("{}1{}", "[".repeat(n - 1), "]".repeat(n - 1));
    let f = Fixture::new(
        "deep-for-state",
        &format!("resource \"landform_data\" \"deep\" {{\n  input = {}\n}}\n", nested(101)),
    );
    let out = f.run(&["apply", "--auto-approve"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("nests lists and objects 101 levels deep; the state stores at most 100"), "{err}");
    assert!(err.contains("main.lf:2:11"), "{err}");
    assert_eq!(f.ok(&["state", "list"]).trim(), "", "nothing was saved");
    // At the limit: saved, read back, and planned again with no changes.
    f.write(&format!("resource \"landform_data\" \"deep\" {{\n  input = {}\n}}\n", nested(100)));
    f.ok(&["apply", "--auto-approve"]);
    let again = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}{}", text(&again.stdout), text(&again.stderr));
}

/// Run `args` in `f`, killed (and failed) if it takes longer than `secs`.
fn run_within(f: &Fixture, args: &[&str], secs: u64) -> std::process::Output {
    let child = f
        .cmd(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("landform {args:?} hung: killed after {secs} s");
        }
    }
}

/// A file that never ends (`/dev/zero`), a named pipe nobody writes to (which
/// blocks `open` itself) or any other file that is not a regular file, read by
/// file(), templatefile() or as a variables file, is refused at once with an
/// error at the call; a regular file too large is refused at the value limit,
/// not read until memory runs out.
#[test]
fn files_that_are_not_regular_or_too_large_are_refused_not_read() {
    let f = Fixture::new("endless-file", "");
    let fifo = f.path("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let big = std::fs::File::create(f.path("big.txt")).unwrap();
    big.set_len(65 << 20).unwrap();
    for (call, said) in [
        ("file(\"/dev/zero\")", "not a regular file"),
        ("templatefile(\"/dev/zero\", {})", "not a regular file"),
        ("file(\"pipe\")", "not a regular file"),
        ("templatefile(\"pipe\", {})", "not a regular file"),
        ("file(\"big.txt\")", "larger than 64 MiB"),
        ("templatefile(\"big.txt\", {})", "larger than 64 MiB"),
    ] {
        f.write(&format!("output \"z\" {{\n  value = length({call})\n}}\n"));
        for cmd in ["validate", "plan"] {
            let out = run_within(&f, &[cmd], 30);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{cmd} {call}: {err}");
            assert!(err.contains(said) && err.contains("--> main.lf:2:"), "{cmd} {call}: {err}");
        }
    }
    // Files Landform finds by itself beside the configuration, as pipes.
    f.write("variable \"x\" {\n  default = 1\n}\n");
    std::fs::rename(&fifo, f.path("landform.lfvars")).unwrap();
    let out = run_within(&f, &["plan"], 30);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a regular file"), "{}", text(&out.stderr));
    std::fs::rename(f.path("landform.lfvars"), f.path(".landformignore")).unwrap();
    let out = run_within(&f, &["plan"], 30);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a regular file"), "{}", text(&out.stderr));
    std::fs::rename(f.path(".landformignore"), f.path(".landform.lock.json")).unwrap();
    let out = run_within(&f, &["init"], 30);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a regular file"), "{}", text(&out.stderr));
    std::fs::remove_file(f.path(".landform.lock.json")).unwrap();
    // A variables file named on the command line may be a pipe (`--var-file <(…)`).
    let out =
        f.cmd(&["plan", "--var-file", "/dev/stdin"]).stdin(std::process::Stdio::piped()).spawn().and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"x = 5\n")?;
            c.wait_with_output()
        });
    let out = out.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The local provider's `local_file` data source reads files too: the same
    // refusals at the data source, never a wait or a read of it all.
    std::fs::write(f.path("small.txt"), "ok").unwrap();
    let out = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(out.success());
    for (path, said) in
        [("/dev/zero", "not a regular file"), ("pipe", "not a regular file"), ("big.txt", "larger than 64 MiB")]
    {
        f.write(&format!("data \"local_file\" \"d\" {{\n  path = \"{path}\"\n}}\n"));
        let out = run_within(&f, &["plan"], 30);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{path}: {err}");
        assert!(err.contains(said) && err.contains("data.local_file.d"), "{path}: {err}");
    }
    f.write("data \"local_file\" \"d\" {\n  path = \"small.txt\"\n}\noutput \"n\" {\n  value = data.local_file.d.content\n}\n");
    assert!(f.ok(&["plan"]).contains("+ n = \"ok\""));
}

/// Template directives nested past the limit (found by feeding 300,000 nested
/// `%{ for }`: the stack overflowed) are refused, in a string and in a
/// template file, not a crash.
#[test]
fn deeply_nested_template_directives_are_refused() {
    let nested = format!("{}x{}", "%{ for x in [1] }".repeat(20_000), "%{ endfor }".repeat(20_000));
    let f = Fixture::new("nested-directives", &format!("output \"a\" {{\n  value = \"{nested}\"\n}}\n"));
    let out = f.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("Template directives nested too deeply"), "{}", text(&out.stderr));
    std::fs::write(f.path("t.tpl"), &nested).unwrap();
    f.write("output \"a\" {\n  value = templatefile(\"t.tpl\", {})\n}\n");
    let out = f.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("t.tpl") && (err.contains("nested too deeply") || err.contains("500 levels deep")), "{err}");
}

/// Piped `console` input that is not UTF-8 is an error naming its line,
/// exit 1 — not a silent end of the input and exit 0 (issue 25 item 22).
#[test]
fn console_input_that_is_not_text_is_an_error_naming_the_line() {
    use std::io::Write;
    let f = Fixture::new("console-bytes", "locals {\n  x = 2\n}\n");
    let mut child = f
        .cmd(&["console"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"local.x + 1\n\"caf\xe9\"\nlocal.x * 10\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains('3') && !stdout.contains("20"), "{stdout}");
    assert!(stderr.contains("line 2") && stderr.contains("not UTF-8"), "{stderr}");
}

#[test]
fn a_template_that_calls_a_template_function_again_is_an_error_not_a_stack_overflow() {
    // A template calling itself (and two calling each other) aborted the
    // process with a stack overflow; Terraform refuses the nested call.
    let cases = [
        ("self", vec![("r.tpl", "${templatefile(\"r.tpl\", {})}")], "templatefile(\"r.tpl\", {})"),
        (
            "mutual",
            vec![("a.tpl", "${templatefile(\"b.tpl\", {})}"), ("b.tpl", "${templatefile(\"a.tpl\", {})}")],
            "templatefile(\"a.tpl\", {})",
        ),
        ("through-try", vec![("t.tpl", "${try(templatefile(\"t.tpl\", {}), \"x\")}")], "templatefile(\"t.tpl\", {})"),
    ];
    for (name, files, call) in cases {
        let f = Fixture::new(&format!("hostile-template-{name}"), &output(call));
        for (file, body) in files {
            std::fs::write(f.path(file), body).unwrap();
        }
        for cmd in ["validate", "plan"] {
            let out = f.run(&[cmd]);
            let err = text(&out.stderr);
            if name == "through-try" {
                // try() takes the error and gives its fallback, as in Terraform.
                assert_eq!(out.status.code(), Some(0), "{name}: {cmd}:\n{err}");
                continue;
            }
            assert_eq!(out.status.code(), Some(1), "{name}: {cmd} must exit 1, not abort:\n{err}");
            assert!(err.contains("cannot recursively call templatefile"), "{name}: {cmd}:\n{err}");
        }
    }
    let f = Fixture::new(
        "hostile-templatestring-self",
        "locals {\n  t = \"$${templatestring(t, { t = t })}\"\n}\noutput \"o\" {\n  value = templatestring(local.t, { t = local.t })\n}\n",
    );
    let out = f.run(&["plan"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "templatestring: plan must exit 1, not abort:\n{err}");
    assert!(err.contains("cannot recursively call templatestring"), "{err}");
}

/// `fmt` reads only regular files: a named pipe among the sources (which
/// blocks `open` until a writer comes) made it wait forever.
#[test]
fn fmt_refuses_a_named_pipe_among_the_sources() {
    let f = Fixture::new("fifo-sources", "output \"a\" {\n  value = 1\n}\n");
    assert!(std::process::Command::new("mkfifo").arg(f.path("p.lf")).status().unwrap().success());
    for args in [&["fmt", "p.lf"][..], &["fmt", "--check", "."][..], &["fmt", "--recursive", "."][..]] {
        let out = run_within(&f, args, 20);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}:\n{err}");
        assert!(err.contains("not a regular file"), "{args:?}:\n{err}");
    }
}

/// A straight chain of module calls deeper than the limit is said to be too
/// deep, not a cycle (it was called "Module cycle"); one within it loads.
#[test]
fn a_deep_chain_of_modules_is_too_deep_not_a_cycle() {
    for (depth, ok) in [(31, true), (40, false)] {
        let f = Fixture::new(&format!("deep-modules-{depth}"), "module \"m\" {\n  source = \"./m1\"\n}\n");
        for i in 1..=depth {
            std::fs::create_dir_all(f.path(&format!("m{i}"))).unwrap();
            let body =
                if i < depth { format!("module \"m\" {{\n  source = \"../m{}\"\n}}\n", i + 1) } else { String::new() };
            std::fs::write(f.path(&format!("m{i}/main.lf")), body).unwrap();
        }
        let out = f.run(&["validate"]);
        let err = text(&out.stderr);
        if ok {
            assert_eq!(out.status.code(), Some(0), "{depth}: {err}");
        } else {
            assert_eq!(out.status.code(), Some(1), "{depth}: {err}");
            assert!(err.contains("Modules nested too deeply") && !err.contains("Module cycle"), "{depth}: {err}");
        }
    }
}
