//! Parse and parse+evaluate a generated module of 10,000 resources; criterion
//! reports throughput in bytes per second. Run: cargo bench -p landform-lang

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use landform_lang::check::check_tree;
use landform_lang::module::{load_tree, ModuleFs};
use landform_lang::parse::parse_file;
use landform_lang::{FileId, NoHost, SourceMap};
use std::collections::BTreeMap;
use std::fmt::Write;

// The same allocator as the landform binary, so the figures are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A module in the shape real ones have: variables, locals, and resources in
/// chains of ten, each referring to the one before, with interpolation,
/// function calls, lists, objects and lifecycle blocks.
pub fn generate(resources: usize) -> String {
    let mut s = String::new();
    s.push_str("variable \"env\" {\n  type    = string\n  default = \"dev\"\n}\n\n");
    s.push_str("locals {\n  prefix = \"app-${var.env}\"\n  tags   = { team = \"platform\", env = var.env }\n}\n\n");
    for i in 0..resources {
        let _ = writeln!(s, "# Resource {i} of the generated module.");
        let _ = writeln!(s, "resource \"landform_data\" \"r{i}\" {{");
        let _ = writeln!(s, "  input = {{");
        let _ = writeln!(s, "    name    = \"${{local.prefix}}-{i}\"");
        let _ = writeln!(s, "    index   = {i}");
        let _ = writeln!(s, "    ports   = [80, 443, {}]", 8000 + i % 1000);
        let _ = writeln!(s, "    tags    = merge(local.tags, {{ shard = \"{}\" }})", i % 16);
        let _ = writeln!(s, "    timeout = 30s");
        if i % 10 != 0 {
            let _ = writeln!(s, "    parent  = landform_data.r{}.output.name", i - 1);
        }
        let _ = writeln!(s, "  }}");
        let _ = writeln!(s, "  triggers_replace = [var.env, upper(\"v{}\")]", i % 7);
        let _ = writeln!(s, "  lifecycle {{\n    create_before_destroy = true\n  }}");
        let _ = writeln!(s, "}}\n");
    }
    s
}

struct OneFile(String);

impl ModuleFs for OneFile {
    fn read_module(&self, _dir: &str) -> Result<Vec<(String, String)>, String> {
        Ok(vec![("main.lf".to_string(), self.0.clone())])
    }
}

fn bench(c: &mut Criterion) {
    let text = generate(10_000);
    let mut group = c.benchmark_group("10k_resources");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    group.bench_function("parse", |b| {
        b.iter(|| {
            let (file, diags) = parse_file(FileId(0), &text);
            assert!(diags.is_empty());
            file
        })
    });
    let fs = OneFile(text.clone());
    group.bench_function("parse_and_evaluate", |b| {
        b.iter(|| {
            let mut sources = SourceMap::new();
            let (tree, diags) = load_tree(&fs, ".", &mut sources);
            assert!(diags.is_empty());
            let (_, diags) = check_tree(&tree, &BTreeMap::new(), &NoHost);
            assert!(diags.is_empty(), "{:?}", diags.first());
            tree
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
