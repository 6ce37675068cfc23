#!/usr/bin/env bash
# Fetch the third-party schemas the report tests validate against into target/test-schemas/,
# from the package registries (they are not committed):
#  - junit-10.xsd: the Jenkins/Surefire JUnit schema (MIT, Gregory Boissinot), shipped in the
#    pytest source distribution on PyPI (testing/example_scripts/junit-10.xsd);
#  - sarif-2.1.0-rtm.5.json: the OASIS SARIF 2.1.0 JSON schema, shipped in the npm package
#    @microsoft/jest-sarif (lib/schemas/).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=target/test-schemas
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ ! -s "$dest/junit-10.xsd" ]; then
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$tmp" "pytest==8.3.4"
  tar -xzf "$tmp/pytest-8.3.4.tar.gz" -C "$tmp" pytest-8.3.4/testing/example_scripts/junit-10.xsd
  cp "$tmp/pytest-8.3.4/testing/example_scripts/junit-10.xsd" "$dest/junit-10.xsd"
fi
if [ ! -s "$dest/sarif-2.1.0-rtm.5.json" ]; then
  (cd "$tmp" && npm pack --silent "@microsoft/jest-sarif@1.0.0-beta.0" >/dev/null)
  tar -xzf "$tmp"/microsoft-jest-sarif-1.0.0-beta.0.tgz -C "$tmp" package/lib/schemas/sarif-2.1.0-rtm.5.json
  cp "$tmp/package/lib/schemas/sarif-2.1.0-rtm.5.json" "$dest/sarif-2.1.0-rtm.5.json"
fi
echo "test schemas in $dest"
