#!/usr/bin/env bash
# Static checks of the phone shells (android/, ios/, scripts/build-android.sh,
# scripts/build-ios.sh): what can be checked on a machine without an Android SDK, Gradle,
# Xcode or a Swift compiler. Run by bindings/tests/run.sh; scripts/test_check_mobile.py breaks
# each check once and expects it to fail.
#
# Usage: scripts/check-mobile.sh [ROOT] [GENERATED_SWIFT]
#   ROOT             the repository (default: this script's); the tests pass a copy
#   GENERATED_SWIFT  the generated OmniFFI.swift, to check the Swift tools version against it
# Prints one "ok" line per check; at the first violation prints one line
# "check-mobile: FAIL <what>" on stderr and exits 1.
set -euo pipefail

root=$(cd "${1:-$(dirname "$0")/..}" && pwd)
generated_swift=${2:-}
cd "$root"

fail() { printf 'check-mobile: FAIL %s\n' "$*" >&2; exit 1; }
ok() { printf 'check-mobile: ok   %s\n' "$*"; }
# version_ge A B: A >= B (dotted versions).
version_ge() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$2" ]; }
# extract FILE ERE: the first capture group of the first line matching ERE, or empty. (No pipes
# into grep -q or head in this script: with pipefail an early-closing reader can fail a pipeline.)
extract() {
  local d=$'\001' out
  out=$(sed -nE "s$d^.*$2.*\$$d\\1${d}p" "$1")
  printf '%s' "${out%%$'\n'*}"
}
# has ERE TEXT: TEXT has a line matching ERE.
has() { grep -qE -- "$1" <<<"$2"; }
need() { [ -f "$1" ] || fail "$1 is missing"; }

# --- published facts the checks compare against (update with the versions) -------------------
# Gradle's own checksums (release "Checksums" in gradle/gradle-distributions; gradle.org/release-checksums):
# the -bin.zip distribution and the wrapper jar.
declare -A GRADLE_BIN_SHA256=(
  [9.7.1]=acd53f1edaf02f1a8ff99879f8a34b302661a057d9b063ae9e35b552f804d20a
)
declare -A GRADLE_WRAPPER_JAR_SHA256=(
  [9.7.1]=7a9ce74cff467ca1bf60a4fcd9f05185acceda4d0f382434d393e17864262c5d
)
# Android Gradle plugin minor -> the minimum Gradle (AGP release notes, "Compatibility").
declare -A AGP_MIN_GRADLE=(
  [9.5]=9.6.0
)
JNA_MIN=5.18.1       # fixes Structure.sortFields' race and the 5.16 deadlock
PLAY_TARGET_SDK=36   # Google Play: new apps and updates from 31 August 2026
SWIFT_TOOLS_MIN=5.10 # the generated Swift uses nonisolated(unsafe) (Swift 5.10, Xcode 15.3)

# --- Android: the Gradle wrapper --------------------------------------------------------------
props=android/gradle/wrapper/gradle-wrapper.properties
jar=android/gradle/wrapper/gradle-wrapper.jar
need "$props"; need "$jar"; need android/gradlew.bat
[ -x android/gradlew ] || fail "android/gradlew is missing or not executable"
grep -q 'gradle/wrapper/gradle-wrapper.jar' android/gradlew || fail "android/gradlew does not run gradle/wrapper/gradle-wrapper.jar"
gradle=$(extract "$props" '^distributionUrl=https\\://services\.gradle\.org/distributions/gradle-([0-9.]+)-bin\.zip$')
[ -n "$gradle" ] || fail "$props: distributionUrl is not an official gradle-<version>-bin.zip"
[ -n "${GRADLE_BIN_SHA256[$gradle]:-}" ] \
  || fail "Gradle $gradle: no published checksum recorded in scripts/check-mobile.sh (GRADLE_BIN_SHA256, GRADLE_WRAPPER_JAR_SHA256)"
[ "$(extract "$props" '^distributionSha256Sum=([0-9a-f]{64})$')" = "${GRADLE_BIN_SHA256[$gradle]}" ] \
  || fail "$props: distributionSha256Sum is not Gradle's published checksum of gradle-$gradle-bin.zip"
[ "$(sha256sum "$jar" | cut -d' ' -f1)" = "${GRADLE_WRAPPER_JAR_SHA256[$gradle]}" ] \
  || fail "$jar: sha256 differs from Gradle's published wrapper jar checksum for $gradle"
grep -q '^validateDistributionUrl=true$' "$props" || fail "$props: validateDistributionUrl=true is missing"
ok "Gradle wrapper $gradle: jar and distribution checksums are Gradle's published ones"

# The jar itself runs and refuses a distribution whose checksum differs (a local file: no network).
command -v java >/dev/null 2>&1 || fail "java not found: needed to run the wrapper jar"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/w/gradle/wrapper" "$tmp/zip/gradle-$gradle/bin"
cp android/gradlew "$tmp/w/" && cp "$jar" "$tmp/w/gradle/wrapper/"
echo 'not gradle' > "$tmp/zip/gradle-$gradle/bin/gradle"
(cd "$tmp/zip" && python3 -c "import shutil; shutil.make_archive('../fake', 'zip', '.')")
sed -e "s#^distributionUrl=.*#distributionUrl=file\\\\:$tmp/fake.zip#" -e 's#^validateDistributionUrl=true#validateDistributionUrl=false#' \
  "$props" > "$tmp/w/gradle/wrapper/gradle-wrapper.properties"
wrapper_out=$(cd "$tmp/w" && GRADLE_USER_HOME="$tmp/home" timeout 120 ./gradlew --version 2>&1 || true)
grep -q 'Verification of Gradle distribution failed' <<<"$wrapper_out" \
  || fail "the wrapper jar did not refuse a distribution with the wrong checksum: $(tail -n 1 <<<"$wrapper_out")"
ok "the wrapper jar runs ($(java -version 2>&1 | head -n 1)) and refuses a distribution with another checksum"

# --- Android: JDK, AGP, Kotlin, SDK levels ---------------------------------------------------
need android/gradle/gradle-daemon-jvm.properties
jdk=$(extract android/gradle/gradle-daemon-jvm.properties '^toolchainVersion=([0-9]+)$')
[ -n "$jdk" ] || fail "android/gradle/gradle-daemon-jvm.properties: no toolchainVersion (the JDK pin)"
for module in omni sample; do
  f=android/$module/build.gradle.kts
  need "$f"
  for c in sourceCompatibility targetCompatibility; do
    grep -qE "$c = JavaVersion\\.VERSION_$jdk\$" "$f" || fail "$f: $c is not JavaVersion.VERSION_$jdk (the daemon JVM pin)"
  done
done
ok "JDK $jdk pinned (daemon JVM criteria) and targeted by both modules"

agp_app=$(extract android/build.gradle.kts 'id\("com\.android\.application"\) version "([0-9.]+)" apply false')
agp_lib=$(extract android/build.gradle.kts 'id\("com\.android\.library"\) version "([0-9.]+)" apply false')
[ -n "$agp_app" ] && [ "$agp_app" = "$agp_lib" ] || fail "android/build.gradle.kts: application and library plugins must have one AGP version (got '$agp_app', '$agp_lib')"
agp_minor=${agp_app%.*}
[ -n "${AGP_MIN_GRADLE[$agp_minor]:-}" ] || fail "AGP $agp_app: its minimum Gradle is not recorded in scripts/check-mobile.sh (AGP_MIN_GRADLE)"
version_ge "$gradle" "${AGP_MIN_GRADLE[$agp_minor]}" || fail "AGP $agp_app needs Gradle ${AGP_MIN_GRADLE[$agp_minor]}+, the wrapper has $gradle"
ok "AGP $agp_app runs on the wrapper's Gradle $gradle (needs ${AGP_MIN_GRADLE[$agp_minor]}+)"

kotlin=$(extract android/build.gradle.kts 'id\("org\.jetbrains\.kotlin\.android"\) version "([0-9.]+)" apply false')
[ -n "$kotlin" ] || fail "android/build.gradle.kts: the Kotlin Gradle plugin is not declared (apply false) to pick the compiler"
for module in omni sample; do
  if has 'org\.jetbrains\.kotlin\.android|kotlin\("android"\)' "$(grep -vE 'apply false' "android/$module/build.gradle.kts" || true)"; then
    fail "android/$module/build.gradle.kts applies org.jetbrains.kotlin.android: AGP 9 compiles Kotlin itself (built-in Kotlin)"
  fi
done
jvm_kotlin=$(extract bindings/tests/kotlin/run.sh '^kotlin_version=([0-9.]+)$')
[ "$kotlin" = "$jvm_kotlin" ] || fail "Kotlin $kotlin in android/ but $jvm_kotlin in bindings/tests/kotlin/run.sh: the JVM tests must use the app's compiler"
ok "built-in Kotlin, compiler $kotlin, the same as the JVM binding tests'"

compile_omni=$(extract android/omni/build.gradle.kts '^ *compileSdk = ([0-9]+)$')
compile_sample=$(extract android/sample/build.gradle.kts '^ *compileSdk = ([0-9]+)$')
target=$(extract android/sample/build.gradle.kts '^ *targetSdk = ([0-9]+)$')
[ -n "$compile_omni" ] && [ "$compile_omni" = "$compile_sample" ] || fail "compileSdk differs between omni ($compile_omni) and sample ($compile_sample)"
[ -n "$target" ] && [ "$target" -ge "$PLAY_TARGET_SDK" ] || fail "targetSdk '$target' is below Google Play's required $PLAY_TARGET_SDK"
[ "$target" -le "$compile_sample" ] || fail "targetSdk $target is above compileSdk $compile_sample"
grep -q 'enableEdgeToEdge()' android/sample/src/main/java/com/omniinspector/sample/MainActivity.kt \
  && grep -q 'setOnApplyWindowInsetsListener' android/sample/src/main/java/com/omniinspector/sample/MainActivity.kt \
  || fail "MainActivity.kt does not handle edge-to-edge (enableEdgeToEdge and the system bar insets), which targetSdk $target imposes"
ok "compileSdk $compile_sample, targetSdk $target (Play requires $PLAY_TARGET_SDK+), insets handled"

# --- Android: JNA ---------------------------------------------------------------------------
jna=$(extract android/omni/build.gradle.kts 'net\.java\.dev\.jna:jna:([0-9.]+)@aar')
[ -n "$jna" ] || fail "android/omni/build.gradle.kts: no net.java.dev.jna:jna:<version>@aar dependency"
version_ge "$jna" "$JNA_MIN" || fail "JNA $jna is below $JNA_MIN (Structure.sortFields race, 5.16 deadlock)"
while read -r other; do
  [ "$other" = "$jna" ] || fail "android/README.md names JNA $other, the build uses $jna"
done < <(grep -oE 'jna:[0-9.]+' android/README.md | cut -d: -f2)
ok "JNA $jna (>= $JNA_MIN), the README agrees"

# --- Android: backups ---------------------------------------------------------------------------
manifest=android/sample/src/main/AndroidManifest.xml
need "$manifest"
grep -q 'android:allowBackup="false"' "$manifest" || fail "$manifest: allowBackup is not false"
grep -q 'android:dataExtractionRules="@xml/data_extraction_rules"' "$manifest" || fail "$manifest: no dataExtractionRules (Android 12+ device transfer copies the queue)"
grep -q 'android:fullBackupContent="@xml/backup_rules"' "$manifest" || fail "$manifest: no fullBackupContent (Android 11 and older)"
data_dir=$(extract android/sample/src/main/java/com/omniinspector/sample/OmniApp.kt 'File\(filesDir, "([^"]+)"\)\.apply')
[ -n "$data_dir" ] || fail "OmniApp.kt: the core's data directory (File(filesDir, \"…\")) was not found"
rules=android/sample/src/main/res/xml/data_extraction_rules.xml
need "$rules"
for section in cloud-backup device-transfer; do
  has "<exclude domain=\"file\" path=\"$data_dir\" */>" "$(sed -n "/<$section>/,/<\\/$section>/p" "$rules")" \
    || fail "$rules: <$section> does not exclude the data directory filesDir/$data_dir"
done
need android/sample/src/main/res/xml/backup_rules.xml
grep -q "<exclude domain=\"file\" path=\"$data_dir\" */>" android/sample/src/main/res/xml/backup_rules.xml \
  || fail "backup_rules.xml does not exclude the data directory filesDir/$data_dir"
ok "the data directory filesDir/$data_dir is excluded from backup and device transfer"

# --- Android: the sample's core calls -------------------------------------------------------------
sample=android/sample/src/main/java/com/omniinspector/sample
grep -q 'catch (e: InternalException)' "$sample/CoreCalls.kt" || fail "CoreCalls.kt: coreCall does not catch InternalException (a panic in a blocking call)"
if grep -q 'catch (e: OmniException)' "$sample/MainActivity.kt"; then
  fail "MainActivity.kt catches OmniException itself: core calls go through coreCall, which also catches a panic"
fi
grep -q '\.startSync()' "$sample/MainActivity.kt" || fail "MainActivity.kt never calls startSync()"
if has 'setLogSink' "$(awk '/override fun onCreate\(\)/,/^    }/' "$sample/OmniApp.kt")"; then
  fail "OmniApp.onCreate calls setLogSink on the main thread"
fi
for f in Describe.kt CoreCalls.kt; do
  if grep -qE '^import androidx?\.' "$sample/$f"; then fail "$sample/$f imports Android: it is compiled on the JVM by bindings/tests/kotlin"; fi
done
ok "the sample catches panics, syncs while started, sets the log sink off the main thread"

# --- both samples: the face each photo shows is picked at capture (issue 24) ----------------
letters=$(extract "$sample/MainActivity.kt" 'FACE_LETTERS = listOf\(([^)]*)\)')
[ "$letters" = '"F", "D", "L", "R", "T", "U", "I", "X"' ] \
  || fail "MainActivity.kt: FACE_LETTERS is not the eight CEDEX faces F D L R T U I X (got: $letters)"
items=$(sed -n '/<string-array name="faces">/,/<\/string-array>/p' android/sample/src/main/res/values/strings.xml | grep -c '<item>' || true)
[ "$items" = 8 ] || fail "strings.xml: the faces array has $items items, FACE_LETTERS has 8"
grep -qE 'core\.addPhoto\(.*, face\)' "$sample/MainActivity.kt" \
  || fail "MainActivity.kt does not pass the picked face to addPhoto"
grep -q 'capturedAtMs: capturedAtMs, face: face)' ios/Sample/AppModel.swift \
  || fail "AppModel.swift does not pass the picked face to addPhoto"
for letter in F D L R T U I X; do
  grep -q "ContainerFace(letter: \"$letter\"" ios/Sample/AppModel.swift \
    || fail "AppModel.swift: the face picker lacks face $letter"
done
ok "both samples pick the photo's face (F D L R T U I X) and pass it to addPhoto"

# --- Android: the 16 KB page check finds llvm-readelf through links and fails without it ---------
ndk=$tmp/ndk
bin=$ndk/toolchains/llvm/prebuilt/linux-x86_64/bin
mkdir -p "$bin"
printf '#!/bin/sh\necho "  LOAD 0x000000 0x0 0x0 0x1000 0x1000 R E 0x${FAKE_ALIGN:-4000}"\n' > "$bin/llvm-readobj"
chmod +x "$bin/llvm-readobj"
ln -s llvm-readobj "$bin/llvm-readelf"   # as the NDK ships it
found=$(bash -c 'source scripts/build-android.sh && find_readelf "$1"' _ "$ndk" 2>&1) \
  || fail "find_readelf does not find the NDK's llvm-readelf symbolic link: $found"
[ "$found" = "$bin/llvm-readelf" ] || fail "find_readelf printed '$found', expected $bin/llvm-readelf"
bash -c 'source scripts/build-android.sh && check_16k_pages "$1" lib.so' _ "$found" >/dev/null 2>&1 \
  || fail "check_16k_pages refuses a library whose LOAD segments are 16 KB aligned"
if FAKE_ALIGN=1000 bash -c 'source scripts/build-android.sh && check_16k_pages "$1" lib.so' _ "$found" >/dev/null 2>&1; then
  fail "check_16k_pages accepts 4 KB aligned LOAD segments"
fi
rm "$bin/llvm-readelf"
if bash -c 'source scripts/build-android.sh && find_readelf "$1"' _ "$ndk" >/dev/null 2>&1; then
  fail "find_readelf succeeds without llvm-readelf: the 16 KB check would be skipped"
fi
ok "llvm-readelf is found through the NDK's link; without it the build stops; 4 KB segments fail"

# --- iOS: the Swift package, the XCFramework, the simulator slices ------------------------------
need ios/Package.swift
tools=$(extract ios/Package.swift '^// swift-tools-version:([0-9.]+)')
[ -n "$tools" ] || fail "ios/Package.swift: no swift-tools-version line"
version_ge "$tools" "$SWIFT_TOOLS_MIN" || fail "ios/Package.swift: swift-tools-version $tools, the generated Swift needs $SWIFT_TOOLS_MIN (nonisolated(unsafe))"
if [ -n "$generated_swift" ]; then
  [ -s "$generated_swift" ] || fail "$generated_swift (the generated Swift) is missing or empty"
  if grep -q 'nonisolated(unsafe)' "$generated_swift" && ! version_ge "$tools" 5.10; then
    fail "the generated Swift uses nonisolated(unsafe) but ios/Package.swift allows Swift $tools"
  fi
fi
grep -q 'Xcode 15\.3' ios/README.md || fail "ios/README.md does not state the Xcode 15.3 floor (Swift 5.10)"
ok "swift-tools-version $tools (>= $SWIFT_TOOLS_MIN, what the generated Swift needs)"

binary_name=$(extract ios/Package.swift '\.binaryTarget\(name: "([^"]+)", path: "[^"]+"\)')
binary_path=$(extract ios/Package.swift '\.binaryTarget\(name: "[^"]+", path: "([^"]+)"\)')
[ -n "$binary_name" ] || fail "ios/Package.swift: no .binaryTarget(name:path:)"
[ "$binary_path" = "$binary_name.xcframework" ] || fail "ios/Package.swift: binary target $binary_name points at $binary_path; the file must be $binary_name.xcframework"
# shellcheck disable=SC1091
script_xcframework=$(bash -c 'source scripts/build-ios.sh && echo "$XCFRAMEWORK"')
[ "$script_xcframework" = "ios/$binary_path" ] || fail "scripts/build-ios.sh writes $script_xcframework, Package.swift expects ios/$binary_path"
grep -qxF "/$binary_path/" ios/.gitignore || fail "ios/.gitignore does not ignore /$binary_path/"
grep -q "$binary_path" ios/README.md || fail "ios/README.md does not name $binary_path"
ok "binary target $binary_name = $binary_path, written by build-ios.sh, gitignored"

read -r -a sim_targets <<<"$(bash -c 'source scripts/build-ios.sh && echo "${SIMULATOR_TARGETS[*]}"')"
read -r -a all_targets <<<"$(bash -c 'source scripts/build-ios.sh && echo "${TARGETS[*]}"')"
if grep -q "generic/platform=iOS Simulator" ios/README.md; then
  for t in aarch64-apple-ios-sim x86_64-apple-ios; do
    [[ " ${sim_targets[*]} " == *" $t "* ]] || fail "ios/README.md builds generic/platform=iOS Simulator (arm64 and x86_64), build-ios.sh lacks $t"
  done
fi
grep -q 'lipo -create "${sim_inputs\[@\]}"' scripts/build-ios.sh || fail "scripts/build-ios.sh does not lipo the simulator slices into one library"
rustup_line=$(grep -m1 '^rustup target add' ios/README.md || true)
for t in "${all_targets[@]}"; do
  [[ "$rustup_line" == *"$t"* ]] || fail "ios/README.md's rustup target add line lacks $t"
done
ok "simulator slices ${sim_targets[*]} (joined with lipo), device ${all_targets[0]}"

# --- iOS: the XcodeGen project and the sample ---------------------------------------------------
spec=ios/project.yml
need "$spec"
bg_id=$(extract ios/Sample/BackgroundSync.swift 'static let identifier = "([^"]+)"')
[ -n "$bg_id" ] || fail "ios/Sample/BackgroundSync.swift: no task identifier"
grep -qE '^ +NSCameraUsageDescription: .+' "$spec" || fail "$spec: no NSCameraUsageDescription"
grep -qE '^ +UIBackgroundModes: \[processing\]' "$spec" || fail "$spec: UIBackgroundModes lacks processing"
grep -qE "^ +BGTaskSchedulerPermittedIdentifiers: \\[$bg_id\\]" "$spec" || fail "$spec: BGTaskSchedulerPermittedIdentifiers lacks $bg_id (BackgroundSync.identifier)"
grep -qE '^ +product: OmniFFI$' "$spec" || fail "$spec: the app does not link the OmniFFI product"
ios_min=$(extract ios/Package.swift 'platforms: \[\.iOS\(\.v([0-9]+)\)\]')
grep -qE "^ +iOS: \"$ios_min\\.0\"" "$spec" || fail "$spec: deployment target differs from Package.swift's iOS $ios_min"
[ "$(bash -c 'source scripts/build-ios.sh && echo "$IPHONEOS_DEPLOYMENT_TARGET"')" = "$ios_min.0" ] \
  || fail "scripts/build-ios.sh: IPHONEOS_DEPLOYMENT_TARGET differs from Package.swift's iOS $ios_min"
ok "XcodeGen spec: Info.plist keys, the package product, iOS $ios_min"

s=ios/Sample
grep -q 'core.startSync()' "$s/AppModel.swift" || fail "$s/AppModel.swift never calls startSync()"
grep -q 'isExcludedFromBackup = true' "$s/CoreStore.swift" || fail "$s/CoreStore.swift does not exclude the data directory from backup"
if grep -rq 'onChange(of:' "$s"; then fail "$s uses onChange(of:perform:), deprecated since iOS 17"; fi
grep -q 'videoRotationAngle' "$s/Camera.swift" || fail "$s/Camera.swift does not use videoRotationAngle (videoOrientation is deprecated since iOS 17)"
if grep -rqE 'try\??\s*core\.(setOnline|setNetwork|openReport|setModelListener)' "$s"; then
  fail "$s: try on a core call that cannot throw"
fi
for decl in 'final class UnifiedLog' 'final class SyncEvents' 'final class CognitoCredentialsProvider' \
  'final class NetworkWatcher' 'enum BackgroundSync' 'func offMainActor' 'func loadRows' 'final class Camera'; do
  grep -rq "nonisolated $decl" "$s" || fail "$s: '$decl' is not nonisolated (Xcode 26's default MainActor isolation)"
done
if grep -rqE '(async|Task) \{ *(@MainActor in )?self\?\.' "$s"; then
  fail "$s: a @Sendable closure reaches the weak self capture of its enclosing closure (Swift 6: unwrap it first)"
fi
ok "iOS sample: startSync, backup exclusion, no deprecated calls, nonisolated off-main types"

echo "check-mobile: all checks passed"
