#!/bin/sh
# segur-fhir beside pyrofile-validator 0.3.0 (the peer of ../shared/fhir/peer) in one run, on
# the 29 published examples: start-up to first verdict and warm files/s for each.
# Needs: cargo; python3 with `pip install pyrofile-validator==0.3.0` (PYTHON=path/to/python).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SEGUR_FHIR_SHARED:-$root/../shared/fhir}
python=${PYTHON:-python3}
cargo build --release -q -p segur-fhir --example fhir_validate
cd "$shared"
echo "== pyrofile-validator 0.3.0 (peer/run_peer.py)"
"$python" peer/run_peer.py examples/valid/*.json 2>&1 >/dev/null | tail -2
echo "== segur-fhir (examples/fhir_validate, PASSES=20)"
/usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KiB max RSS" \
  env PASSES=20 "$root/target/release/examples/fhir_validate" packages examples/valid/*.json 2>&1 >/dev/null
