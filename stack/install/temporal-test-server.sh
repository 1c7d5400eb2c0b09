#!/usr/bin/env bash
# Fetches Temporal's time-skipping test server (io.temporal:temporal-test-server, Java) and its jars
# with Maven, and writes a launcher the SDK can start as `<launcher> <port> [--enable-time-skipping]`
# (TestWorkflowEnvironment.createTimeSkipping with an existing-path executable). The SDK gives the
# server 5 s to answer, so the launcher starts the JVM from a class-data archive made here.
. "$(dirname "$0")/lib.sh"
name=temporal-test-server; ver=$TEMPORAL_TEST_SERVER_VERSION; out=$(cache_dir $name "$ver")
if is_cached $name "$ver"; then log "$name $ver cached"; exit 0; fi
for tool in java mvn; do
  command -v "$tool" >/dev/null || {
    echo "[install] $name needs $tool (Debian: apt-get install -y openjdk-17-jre-headless maven)" >&2
    exit 1
  }
done
log "fetching $name $ver from Maven Central"
rm -rf "$out"
mkdir -p "$out/lib"
# Maven's output is shown only when it fails: quiet mode still prints colour codes.
mvn_log=$(mktemp)
trap 'rm -f "$mvn_log"' EXIT
mvn -B -q -f "$STACK_DIR/install/temporal-test-server.pom.xml" \
  "-Dtemporal.test.server.version=$ver" \
  dependency:copy-dependencies -DincludeScope=runtime "-DoutputDirectory=$out/lib" >"$mvn_log" 2>&1 || {
  cat "$mvn_log" >&2
  echo "[install] Maven could not resolve io.temporal:temporal-test-server:$ver" >&2
  exit 1
}

classpath=$(find "$out/lib" -name '*.jar' | LC_ALL=C sort | paste -sd:)
launcher="$out/temporal-test-server"
archive="$out/classes.jsa"
# C1 only and the serial collector: the server lives for one test file, so start-up beats peak speed.
jvm_flags="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData"
cat > "$launcher" <<LAUNCHER
#!/usr/bin/env bash
# Temporal's time-skipping test server $ver. Usage: $launcher <port> [--enable-time-skipping]
# Written by stack/install/temporal-test-server.sh. An archive that does not fit the JVM (another
# Java) is ignored, which only makes the start slower.
exec "\${JAVA_HOME:+\$JAVA_HOME/bin/}java" $jvm_flags -XX:SharedArchiveFile="$archive" -Xlog:cds=off -Xlog:cds+dynamic=off \\
  -cp "$classpath" io.temporal.testserver.TestServer "\$@"
LAUNCHER
chmod +x "$launcher"

# The class-data archive: start the server once, let it bind, stop it; the JVM writes the archive
# of every class it loaded on the way out.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
made=false
for _ in 1 2 3; do
  port=$(( 20000 + RANDOM % 30000 ))
  port_open "$port" && continue
  # shellcheck disable=SC2086
  java $jvm_flags -XX:ArchiveClassesAtExit="$archive" -Xlog:cds=off -Xlog:cds+dynamic=off \
    -cp "$classpath" io.temporal.testserver.TestServer "$port" --enable-time-skipping >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    port_open "$port" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if port_open "$port"; then
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    [ -s "$archive" ] && { made=true; break; }
  else
    kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  fi
done
$made || { echo "[install] $name $ver did not start (java -cp … io.temporal.testserver.TestServer)" >&2; exit 1; }
log "$name $ver: $(find "$out/lib" -name '*.jar' | wc -l) jars, launcher $launcher"
mark_cached $name "$ver"
