#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: every cargo-fuzz target of fuzz/ into $OUT, each with its seed
# corpus ($OUT/<target>_seed_corpus.zip, from fuzz/corpus/<target>/ and fuzz/regressions/<target>/)
# and the SAML dictionary ($OUT/<target>.dict).
cd "$SRC/samlconf/fuzz"
cargo fuzz build -O
release=target/x86_64-unknown-linux-gnu/release
for source in fuzz_targets/*.rs; do
    target=$(basename "${source%.rs}")
    cp "$release/$target" "$OUT/"
    cp saml.dict "$OUT/$target.dict"
    seeds=$(mktemp -d)
    for dir in corpus regressions; do
        if [ -d "$dir/$target" ]; then
            cp "$dir/$target"/* "$seeds/" 2>/dev/null || true
        fi
    done
    if [ -n "$(ls -A "$seeds")" ]; then
        (cd "$seeds" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
    fi
    rm -rf "$seeds"
done
