//! Minting a wrapping attack frees everything it allocated in libxml2: the attacks copy elements
//! out of a duplicate document, and the duplicate's unlinked original once leaked (~15 KB per
//! response). libxml2's own allocator counts the bytes in use; this binary holds one test so
//! that the allocator can be installed before anything else touches libxml2.

mod common;

use common::{mint, profile};
use libxml::bindings::{
    xmlMemFree, xmlMemMalloc, xmlMemRealloc, xmlMemSetup, xmlMemUsed, xmlMemoryStrdup,
};

/// Every profile whose knobs apply a signature-wrapping attack.
fn wrapping_profiles() -> Vec<&'static str> {
    mock_idp::profiles::ALL
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| profile(name).signature_wrapping.is_some())
        .collect()
}

fn mint_all(profiles: &[&str]) {
    for name in profiles {
        let xml = mint(&profile(name)).xml;
        assert!(!xml.is_empty(), "{name}");
    }
}

#[test]
fn minting_wrapping_attacks_frees_what_it_allocates() {
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
    let profiles = wrapping_profiles();
    assert!(profiles.len() >= 33, "{profiles:?}");
    // The first round initialises what libxml2 and xmlsec keep for the process.
    mint_all(&profiles);
    // SAFETY: reads a counter.
    let before = unsafe { xmlMemUsed() };
    for _ in 0..3 {
        mint_all(&profiles);
    }
    let after = unsafe { xmlMemUsed() };
    assert!(
        after <= before,
        "libxml2 holds {} more bytes after 3 rounds of {} attack responses",
        after - before,
        profiles.len()
    );
}
