//! The layers of `src/` stay one-way: this test reads every `crate::`, `super::` and child-module
//! path in the library and fails when a module names one above it (or a sibling of its own rank),
//! when files import each other (directly or round a longer loop), when anything outside the UI
//! names a toolkit crate, when anything outside capture names `pcap::`, and when a file grows past
//! 500 lines. The table below is the architecture the README describes; change both together.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module of the library and its layer, lowest first. A module may name modules of
/// a lower layer only: two modules of one layer know nothing of each other.
const LAYERS: &[(&str, u8)] = &[
    // The vocabulary every layer shares, and bundled data.
    ("error", 0),
    ("wire", 0),
    ("samples", 0),
    // Bytes in: frames from files and interfaces; frames into TCP segments; scenarios on sockets.
    ("capture", 1),
    ("decode", 1),
    ("lessons", 1),
    // Connections and each side's state; each direction's byte stream.
    ("tcp", 2),
    ("stream", 2),
    // The application's messages in those streams (HTTP, and turns of any protocol).
    ("protocols", 3),
    // This machine's own sockets as its kernel reports them (states named as `tcp` names them).
    ("host", 3),
    // Decoding, tracking and the conversation fed one frame at a time.
    ("engine", 4),
    // What happened: diagnoses, Zeek's summary, exchanges, chart series.
    ("analysis", 5),
    // Where each arrow goes.
    ("ladder", 6),
    // A row per connection and per segment, shared by the command line and the window.
    ("summary", 7),
    // Pictures and texts: SVG, PNG, Mermaid, PlantUML, text, charts.
    ("render", 8),
    // A capture being looked at: reading on threads, live analysis, exports; no toolkit.
    ("session", 9),
    // The desktop app (egui), and the fuzz bodies that drive everything.
    ("ui", 10),
    ("fuzzing", 10),
];

const TOOLKIT_CRATES: &[&str] = &["egui", "eframe", "egui_plot", "egui_extras", "rfd", "egui_kittest"];
const MAX_LINES: usize = 500;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("listing {}: {err}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a library file: `src/tcp/flags.rs` → `tcp::flags`, `src/tcp/mod.rs` → `tcp`.
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative.iter().map(|part| part.to_string_lossy().into_owned()).collect();
    let file = parts.pop().expect("a file name");
    let stem = file.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// Source text with comments, string and char literals blanked, so prose never counts as an import.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && at(i + 1) == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '\'' && (at(i + 2) == '\'' || (at(i + 1) == '\\' && at(i + 3) == '\'')) {
            // A char literal ('"', '\n'); lifetimes ('a) have no closing quote here.
            i += if at(i + 1) == '\\' { 4 } else { 3 };
            out.push_str("' '");
        } else if c == '"' {
            let mut hashes = 0;
            while i > hashes && chars[i - hashes - 1] == '#' {
                hashes += 1;
            }
            let raw = i > hashes && chars[i - hashes - 1] == 'r';
            i += 1;
            while i < chars.len() {
                if !raw && chars[i] == '\\' {
                    i += 2;
                } else if chars[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                    i += 1 + hashes;
                    break;
                } else {
                    i += 1;
                }
            }
            out.push_str("\"\"");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The `#[cfg(test)]` module at the end of a file is left out: tests may reach anywhere.
fn without_tests(code: &str) -> &str {
    code.find("#[cfg(test)]\nmod tests").map_or(code, |at| &code[..at])
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path in `code` that starts with `root::` (`crate`, `super`, `self` or a child module),
/// with `use` groups (`use crate::{a::B, c}`) expanded.
fn paths_from(code: &str, root: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let needle = format!("{root}::");
    let mut start = 0;
    while let Some(at) = code[start..].find(&needle).map(|at| at + start) {
        start = at + needle.len();
        if code[..at].chars().next_back().is_some_and(|c| is_ident(c) || c == ':') {
            continue;
        }
        let tail = &code[start..];
        let end =
            tail.find(|c: char| !(is_ident(c) || c == ':' || c == '{' || c == '}' || c == ',' || c.is_whitespace()));
        let tail = &tail[..end.unwrap_or(tail.len())];
        expand(&[root.to_string()], tail, &mut found);
    }
    found
}

/// Expands `a::b::{c, d::e}` after `prefix` into whole paths.
fn expand(prefix: &[String], tail: &str, out: &mut Vec<Vec<String>>) {
    let tail = tail.trim_start();
    let mut path = prefix.to_vec();
    let mut rest = tail;
    loop {
        let ident: String = rest.chars().take_while(|&c| is_ident(c)).collect();
        if ident.is_empty() {
            break;
        }
        path.push(ident.clone());
        rest = rest[ident.len()..].trim_start();
        if let Some(after) = rest.strip_prefix("::") {
            rest = after.trim_start();
        } else {
            out.push(path);
            return;
        }
    }
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 1;
        let mut item_start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' | ',' if depth == 1 => {
                    expand(&path, &group[item_start..i], out);
                    item_start = i + 1;
                    if c == '}' {
                        return;
                    }
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
    } else if path.len() > prefix.len() {
        out.push(path);
    }
}

struct Library {
    /// Module path → file, for every file of the library.
    files: BTreeMap<Vec<String>, PathBuf>,
    /// (module, name) → the path a `pub use` re-exports it from.
    reexports: BTreeMap<(Vec<String>, String), Vec<String>>,
    /// Each file's code, tests left out.
    code: BTreeMap<Vec<String>, String>,
}

impl Library {
    fn read() -> Self {
        let root = src();
        let mut paths = Vec::new();
        rust_files(&root, &mut paths);
        let mut library = Self { files: BTreeMap::new(), reexports: BTreeMap::new(), code: BTreeMap::new() };
        for path in paths {
            let relative = path.strip_prefix(&root).expect("under src").to_path_buf();
            // The binaries are crates of their own, above the library.
            if relative == Path::new("main.rs") || relative.starts_with("cli") || relative.starts_with("bin") {
                continue;
            }
            let module = module_of(&relative);
            let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
            let code = without_tests(&code_only(&text)).to_string();
            for line in code.lines().map(str::trim).filter(|line| line.starts_with("pub use ")) {
                let body = line.trim_start_matches("pub use ").trim_end_matches(';');
                let mut expanded = Vec::new();
                expand(&[], body, &mut expanded);
                for path in expanded {
                    let absolute = library_absolute(&module, &path);
                    let name = absolute.last().cloned().unwrap_or_default();
                    library.reexports.insert((module.clone(), name), absolute);
                }
            }
            library.files.insert(module.clone(), relative);
            library.code.insert(module, code);
        }
        library
    }

    /// The file a path names: the longest module prefix that is a file, following re-exports.
    fn resolve(&self, path: &[String]) -> Vec<String> {
        let mut path = path.to_vec();
        // Re-exports chain a few steps at most; the bound only guards against a loop of them.
        for _ in 0..10 {
            let mut module_len = path.len();
            while module_len > 0 && !self.files.contains_key(&path[..module_len]) {
                module_len -= 1;
            }
            let module = path[..module_len].to_vec();
            let followed = path.get(module_len).and_then(|name| self.reexports.get(&(module.clone(), name.clone())));
            match followed {
                Some(target) if target[..] != path[..] => {
                    let mut next = target.clone();
                    next.extend_from_slice(&path[module_len + 1..]);
                    path = next;
                }
                _ => return module,
            }
        }
        Vec::new()
    }

    /// The files each file names, re-exports followed.
    fn imports(&self) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
        let mut graph = BTreeMap::new();
        for (module, code) in &self.code {
            let children: Vec<&Vec<String>> = self
                .files
                .keys()
                .filter(|other| other.len() == module.len() + 1 && other.starts_with(module))
                .collect();
            let code_without_reexports: String =
                code.lines().filter(|line| !line.trim_start().starts_with("pub use ")).collect::<Vec<_>>().join("\n");
            let mut paths = Vec::new();
            for root in ["crate", "super", "self"] {
                paths.extend(paths_from(&code_without_reexports, root));
            }
            for child in &children {
                let name = child.last().expect("a child has a name");
                paths.extend(paths_from(&code_without_reexports, name).into_iter().map(|mut path| {
                    path.insert(0, "self".to_string());
                    path
                }));
            }
            let targets: BTreeSet<Vec<String>> = paths
                .iter()
                .map(|path| self.resolve(&library_absolute(module, path)))
                .filter(|target| target != module)
                .collect();
            graph.insert(module.clone(), targets);
        }
        graph
    }
}

/// A path as written in `module` (`crate::…`, `super::…`, `self::…`) made absolute.
fn library_absolute(module: &[String], path: &[String]) -> Vec<String> {
    let mut out: Vec<String> = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("self") => module.to_vec(),
        Some("super") => module[..module.len().saturating_sub(1)].to_vec(),
        _ => module.to_vec(),
    };
    let mut rest = match path.first().map(String::as_str) {
        Some("crate" | "self" | "super") => &path[1..],
        _ => path,
    };
    while rest.first().map(String::as_str) == Some("super") {
        out.pop();
        rest = &rest[1..];
    }
    out.extend_from_slice(rest);
    out
}

fn layer(module: &[String]) -> Option<u8> {
    let top = module.first()?;
    LAYERS.iter().find(|(name, _)| name == top).map(|&(_, layer)| layer)
}

fn show(module: &[String]) -> String {
    if module.is_empty() {
        "the crate root".to_string()
    } else {
        module.join("::")
    }
}

/// Every way `module`'s imports break the layering; empty when they keep to it.
fn layering_violations(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<String> {
    let mut violations = Vec::new();
    for (module, targets) in graph {
        if module.is_empty() {
            continue;
        }
        let Some(own) = layer(module) else {
            violations.push(format!("{}: not in the layer table of tests/architecture.rs", show(module)));
            continue;
        };
        for target in targets {
            if target.first() == module.first() {
                continue;
            }
            match layer(target) {
                None if target.is_empty() => {
                    violations.push(format!("{} names the crate root: name the module instead", show(module)));
                }
                None => violations.push(format!("{} names {}, which is in no layer", show(module), show(target))),
                Some(theirs) if theirs >= own => violations.push(format!(
                    "{} (layer {own}) names {} (layer {theirs}): imports must point down",
                    show(module),
                    show(target)
                )),
                Some(_) => {}
            }
        }
    }
    violations
}

/// The loops in the file graph, each as the files round it.
fn cycles(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<String> {
    // Tarjan's strongly connected components: a component of more than one file is a loop.
    struct Walk<'a> {
        graph: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        found: Vec<String>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, node: &'a Vec<String>) {
            let next = self.index.len();
            self.index.insert(node, next);
            self.low.insert(node, next);
            self.stack.push(node);
            self.on_stack.insert(node);
            for target in self.graph.get(node).into_iter().flatten() {
                if !self.graph.contains_key(target) {
                    continue;
                }
                if !self.index.contains_key(target) {
                    self.visit(target);
                    let low = self.low[node].min(self.low[target]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(target) {
                    let low = self.low[node].min(self.index[target]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    component.push(show(member));
                    if member == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component.join(" ⇄ "));
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node) {
            walk.visit(node);
        }
    }
    walk.found
}

/// Places outside `allowed` (a top-level module) whose code names `crate_name::`.
fn naming(library: &Library, crate_names: &[&str], allowed: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (module, code) in &library.code {
        if module.first().map(String::as_str) == Some(allowed) {
            continue;
        }
        for name in crate_names {
            let named = !paths_from(code, name).is_empty() || code.contains(&format!("use {name};"));
            if named {
                found.push(format!("{} names {name}", show(module)));
            }
        }
    }
    found
}

#[test]
fn imports_point_down_the_layers() {
    let library = Library::read();
    let violations = layering_violations(&library.imports());
    assert!(violations.is_empty(), "imports against the layers:\n  {}", violations.join("\n  "));
}

#[test]
fn no_two_files_import_each_other() {
    let library = Library::read();
    let loops = cycles(&library.imports());
    assert!(loops.is_empty(), "files that import each other:\n  {}", loops.join("\n  "));
}

#[test]
fn only_the_ui_names_the_toolkit_and_only_capture_names_pcap() {
    let library = Library::read();
    let mut found = naming(&library, TOOLKIT_CRATES, "ui");
    found.extend(naming(&library, &["pcap"], "capture"));
    assert!(found.is_empty(), "crates named outside their layer:\n  {}", found.join("\n  "));
}

#[test]
fn no_file_in_src_is_longer_than_500_lines() {
    let mut paths = Vec::new();
    rust_files(&src(), &mut paths);
    let long: Vec<String> = paths
        .iter()
        .filter_map(|path| {
            let lines = std::fs::read_to_string(path).expect("a source file").lines().count();
            (lines > MAX_LINES).then(|| format!("{}: {lines} lines", path.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines:\n  {}", long.join("\n  "));
}

/// The checks themselves catch what they are for: an upward import, a loop, a toolkit name.
#[test]
fn the_checks_catch_a_wrong_import() {
    let mut library = Library::read();
    let engine = vec!["engine".to_string()];
    let code = library.code.get_mut(&engine).expect("src/engine.rs is read");
    code.push_str("\nfn upward() { let _ = crate::ui::run; let _ = egui::Color32::RED; }\n");
    let decode = vec!["decode".to_string()];
    library.code.get_mut(&decode).expect("src/decode/mod.rs is read").push_str("\nuse crate::engine::Engine;\n");
    let graph = library.imports();
    let violations = layering_violations(&graph);
    assert!(violations.iter().any(|v| v.starts_with("engine (layer 4) names ui")), "{violations:?}");
    assert!(violations.iter().any(|v| v.starts_with("decode (layer 1) names engine")), "{violations:?}");
    assert!(naming(&library, TOOLKIT_CRATES, "ui").contains(&"engine names egui".to_string()));

    let mut looped: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let (a, b, c) = (vec!["a".to_string()], vec!["b".to_string()], vec!["c".to_string()]);
    looped.insert(a.clone(), [b.clone()].into());
    looped.insert(b.clone(), [c.clone()].into());
    looped.insert(c, [a].into());
    assert_eq!(cycles(&looped), vec!["a ⇄ b ⇄ c".to_string()]);
}

#[test]
fn paths_are_read_as_rust_writes_them() {
    let mut found = paths_from("use crate::{tcp::{Connection, TcpState}, engine::Engine};", "crate");
    found.sort();
    let words = |path: &[&str]| path.iter().map(std::string::ToString::to_string).collect::<Vec<_>>();
    assert_eq!(
        found,
        vec![
            words(&["crate", "engine", "Engine"]),
            words(&["crate", "tcp", "Connection"]),
            words(&["crate", "tcp", "TcpState"])
        ]
    );
    assert!(paths_from(&code_only("// crate::ui is only named here\nlet s = \"crate::ui\";"), "crate").is_empty());
    assert_eq!(
        library_absolute(&words(&["tcp", "flags"]), &words(&["super", "seq", "x"])),
        words(&["tcp", "seq", "x"])
    );
}
