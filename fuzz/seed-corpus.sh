#!/usr/bin/env bash
# Regenerates the committed seed corpora under fuzz/corpus/<target>/ (byte-for-byte stable).
#
# Responses are minted by the mock IdP with its fixed, public test key (--deterministic) at a fixed
# instant, for the SP, ACS and IdP the fuzz targets' policy names (fuzz/src/lib.rs): so the valid
# seeds are ACCEPTED by the targets, and libFuzzer mutates from inside the accepting path.
# Run from anywhere: fuzz/seed-corpus.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

SP=https://sp.example/saml/metadata
ACS=https://sp.example/saml/acs
NOW=2026-01-01T00:00:00Z          # fuzz/src/lib.rs verifies at NOW + 1 min
ENC=sp/testdata/sp-enc.crt
C=fuzz/corpus

mint() { # mint OUT PROFILE [extra args…]
    local out=$1 profile=$2; shift 2
    cargo run -q -- mint --deterministic --profile "$profile" --sp-entity-id "$SP" --acs-url "$ACS" \
        --now "$NOW" --out "$out" "$@"
}

for t in verify_response verify_response_mutated decode_post_binding slo_decode_redirect; do
    rm -rf "${C:?}/$t"; mkdir -p "$C/$t"
done

# verify_response: raw XML, valid and each way it goes wrong, plus real IdPs' responses.
for p in valid sha1 unsigned wrong-key sign-both expired; do
    mint "$C/verify_response/$p.xml" "$p"
done
mint "$C/verify_response/encrypted.xml" encrypted --sp-enc-cert "$ENC"
cp sp/tests/fixtures/real/google2021_response.xml "$C/verify_response/real-google2021.xml"

# verify_response_mutated: only responses the target's policy accepts (the target checks that
# each seed's identity is what it expects), so every mutation starts from an accepted input.
mint "$C/verify_response_mutated/valid.xml" valid
mint "$C/verify_response_mutated/sign-both.xml" sign-both
mint "$C/verify_response_mutated/sign-response.xml" sign-response   # accepted: target allows Response signatures
mint "$C/verify_response_mutated/encrypted.xml" encrypted --sp-enc-cert "$ENC"

# decode_post_binding: the SAMLResponse form value (base64), valid and faulty.
for p in valid unsigned; do
    mint "$C/decode_post_binding/$p.b64" "$p" --base64
done
mint "$C/decode_post_binding/encrypted.b64" encrypted --sp-enc-cert "$ENC" --base64
base64 -w 76 sp/tests/fixtures/real/okta2016_response.xml > "$C/decode_post_binding/real-okta2016-wrapped.b64"
printf 'PHNhbWxwOlJlc3BvbnNlLz4=\n' > "$C/decode_post_binding/tiny.b64"   # <samlp:Response/>

# slo_decode_redirect: HTTP-Redirect query strings (base64 of raw DEFLATE, URL-encoded).
redirect() { # redirect OUT PARAM XML [extra query]
    local enc
    enc=$(printf '%s' "$3" | python3 -c 'import sys,zlib,base64,urllib.parse
c=zlib.compressobj(9,zlib.DEFLATED,-15); d=c.compress(sys.stdin.buffer.read())+c.flush()
print(urllib.parse.quote(base64.b64encode(d).decode(),safe=""))')
    printf '%s=%s%s' "$2" "$enc" "${4:-}" > "$1"
}
LR='<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lr1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="https://sp.example/saml/sls"><saml:Issuer>http://127.0.0.1:9000/metadata</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@example.com</saml:NameID><samlp:SessionIndex>_0000000000000000000000000000000000000003</samlp:SessionIndex></samlp:LogoutRequest>'
LS='<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_ls1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" InResponseTo="_lr0"><saml:Issuer>http://127.0.0.1:9000/metadata</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>'
redirect "$C/slo_decode_redirect/request.query" SAMLRequest "$LR" '&RelayState=%2Fhome'
redirect "$C/slo_decode_redirect/request-signed.query" SAMLRequest "$LR" \
    '&RelayState=%2Fhome&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256&Signature=AAAA'
redirect "$C/slo_decode_redirect/response.query" SAMLResponse "$LS"
printf 'SAMLRequest=a&SAMLRequest=b' > "$C/slo_decode_redirect/repeated.query"
printf 'SAMLRequest=%%3D%%3D%%3D&RelayState=x' > "$C/slo_decode_redirect/bad-base64.query"

du -sh "$C"/*
