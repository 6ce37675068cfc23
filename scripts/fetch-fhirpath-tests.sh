#!/usr/bin/env bash
# Fetch HL7's FHIRPath test suite for R4 (tests-fhir-r4.xml, from FHIR/fhir-test-cases, with
# its JSON input files) into target/fhirpath-tests/r4/. It is not committed: the crate
# helios-fhirpath 0.2.7 on crates.io ships a copy (tests/data/r4, vendored from
# fhir-test-cases@7650c3ec), and `cargo info` is the ordinary client that downloads a
# crate's archive into the local registry cache. The archive's sha256 is pinned.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=target/fhirpath-tests
crate=helios-fhirpath
version=0.2.7
sha256=b82faeee298148e918ad37717a7ae7d87a749c8bc3c88b8a6e1b3dadcddf9f62
if [ -s "$dest/r4/tests-fhir-r4.xml" ]; then
  echo "FHIRPath test suite already in $dest"
  exit 0
fi
cache="${CARGO_HOME:-$HOME/.cargo}/registry/cache"
find_archive() { find "$cache" -name "$crate-$version.crate" 2>/dev/null | head -n 1 || true; }
archive=$(find_archive)
if [ -z "$archive" ]; then
  (cd /tmp && cargo info "$crate@$version" >/dev/null)
  archive=$(find_archive)
fi
if [ -z "$archive" ]; then
  echo "could not download $crate $version" >&2
  exit 1
fi
echo "$sha256  $archive" | sha256sum -c --quiet -
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$archive" -C "$tmp" "$crate-$version/tests/data/r4"
mkdir -p "$dest"
rm -rf "$dest/r4"
mkdir -p "$dest/r4"
cp -r "$tmp/$crate-$version/tests/data/r4/tests-fhir-r4.xml" "$tmp/$crate-$version/tests/data/r4/input" "$dest/r4/"
echo "FHIRPath test suite in $dest/r4"
