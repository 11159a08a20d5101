//! The response verifier frees what libxml2 and libxmlsec1 allocate for it, on every committed
//! input of the three response fuzz targets (`fuzz/corpus/` and `fuzz/regressions/`), replayed
//! through the targets' own bodies. LeakSanitizer found per-input leaks inside libxmlsec1 during
//! long fuzz runs (`fuzz/README.md`, "Measured"); a leak on a refusal path is state that hostile
//! input grows without bound. libxml2's debug allocator counts the bytes in use, and xmlsec
//! allocates through libxml2's `xmlMalloc`, so one counter sees both. This binary holds one test
//! so that the allocator is installed before anything touches libxml2.

use std::path::{Path, PathBuf};

use libxml::bindings::{
    xmlMemFree, xmlMemMalloc, xmlMemRealloc, xmlMemSetup, xmlMemUsed, xmlMemoryStrdup,
};

#[path = "../fuzz/src/targets/mod.rs"]
#[allow(dead_code)] // only the response targets run here
mod targets;

/// The targets that run the response verifier.
const RESPONSE_TARGETS: [&str; 3] = [
    "verify_response",
    "decode_post_binding",
    "verify_response_mutated",
];

struct Input {
    path: PathBuf,
    body: targets::Body,
    data: Vec<u8>,
}

/// The directories whose `<target>/` subdirectories hold inputs: the committed corpus and
/// regressions, and the directories listed in `FUZZ_MEMORY_WORK` (`:`-separated; e.g. a libFuzzer
/// work corpus, `fuzz/README.md`, to find which of its inputs leak).
fn input_roots() -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut roots = vec![fuzz.join("corpus"), fuzz.join("regressions")];
    if let Some(work) = std::env::var_os("FUZZ_MEMORY_WORK") {
        roots.extend(std::env::split_paths(&work));
    }
    roots
}

fn inputs() -> Vec<Input> {
    let mut out = Vec::new();
    for (name, body) in targets::ALL {
        if !RESPONSE_TARGETS.contains(name) {
            continue;
        }
        for root in input_roots() {
            let Ok(entries) = std::fs::read_dir(root.join(name)) else {
                continue;
            };
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            paths.sort();
            for path in paths {
                let data = std::fs::read(&path).unwrap();
                out.push(Input {
                    path,
                    body: *body,
                    data,
                });
            }
        }
    }
    out
}

fn bytes_in_use() -> u64 {
    // SAFETY: reads libxml2's counter of its debug allocator.
    u64::try_from(unsafe { xmlMemUsed() }).unwrap_or(0)
}

#[test]
fn verifying_every_response_fuzz_input_frees_what_libxml2_and_xmlsec_allocate() {
    // SAFETY: the first libxml2 call of this process (the only test in this binary), so no block
    // allocated by another allocator is ever handed to these functions.
    let installed = unsafe {
        xmlMemSetup(
            Some(xmlMemFree),
            Some(xmlMemMalloc),
            Some(xmlMemRealloc),
            Some(xmlMemoryStrdup),
        )
    };
    assert_eq!(installed, 0, "xmlMemSetup");
    let inputs = inputs();
    assert!(inputs.len() > 100, "{} inputs", inputs.len());
    // The first round initialises what libxml2 and xmlsec keep for the process (xmlsec's
    // transform registry, the pinned keys).
    for input in &inputs {
        (input.body)(&input.data);
    }
    let before = bytes_in_use();
    for _ in 0..3 {
        for input in &inputs {
            (input.body)(&input.data);
        }
    }
    let grown = bytes_in_use().saturating_sub(before);
    if grown == 0 {
        return;
    }
    // Name the inputs that leak, for the failure message: each runs once more before it is
    // measured, since libxml2 keeps the last error message it reported (replaced, not grown).
    let leaking: Vec<String> = inputs
        .iter()
        .filter_map(|input| {
            (input.body)(&input.data);
            let start = bytes_in_use();
            (input.body)(&input.data);
            let delta = bytes_in_use().saturating_sub(start);
            (delta > 0).then(|| format!("{} (+{delta} bytes)", input.path.display()))
        })
        .collect();
    panic!(
        "libxml2 holds {grown} more bytes after 3 rounds of {} inputs; leaking: {leaking:#?}",
        inputs.len()
    );
}
