#!/usr/bin/env bash
# Fetch every JVM artifact in jvm/pom.xml into .jars/<module>/ and check them against jvm/jars.sha256.
#   jvm/fetch.sh          fetch (Maven's local cache makes a re-fetch cheap) and verify the checksums
#   jvm/fetch.sh --lock   fetch and (re)write jvm/jars.sha256: run it after changing a version in jvm/
# Spark's module leaves out any jar pyspark already ships (pyspark/jars), so no class is on the
# classpath twice in two versions.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
out=.jars
rm -rf "$out.partial" && mkdir -p "$out.partial"
echo "==> resolving JVM artifacts from jvm/pom.xml (first time: a few minutes, about 800 MB)"
mvn -q -B -Dstyle.color=never -f jvm/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
  -DoutputDirectory="\${maven.multiModuleProjectDirectory}/../$out.partial/\${project.artifactId}"
pyspark_jars=$("$python" -c 'import pyspark, os; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')
artifact() { basename "$1" .jar | sed -E 's/-[0-9][^-]*(-[A-Za-z0-9_]+)*$//'; }
declare -A shipped=()
for jar in "$pyspark_jars"/*.jar; do shipped[$(artifact "$jar")]=1; done
for jar in "$out.partial"/spark/*.jar; do
  if [[ -n "${shipped[$(artifact "$jar")]:-}" ]]; then rm "$jar"; fi
done
(cd "$out.partial" && find . -name '*.jar' | sort | xargs sha256sum) > "$out.partial/jars.sha256"
if [[ "${1:-}" == "--lock" ]]; then
  cp "$out.partial/jars.sha256" jvm/jars.sha256
  echo "==> wrote jvm/jars.sha256 ($(wc -l < jvm/jars.sha256) jars)"
elif ! diff -u jvm/jars.sha256 "$out.partial/jars.sha256" > "$out.partial/checksums.diff"; then
  echo "ERROR: the fetched jars differ from jvm/jars.sha256 (see $out.partial/checksums.diff)." >&2
  echo "       If you changed jvm/*.xml on purpose, run jvm/fetch.sh --lock and commit jvm/jars.sha256." >&2
  exit 1
fi
rm -rf "$out" && mv "$out.partial" "$out"
echo "==> JVM artifacts ready in $out/ ($(du -sh "$out" | cut -f1))"
