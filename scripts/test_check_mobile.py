"""Tests of scripts/check-mobile.sh: it passes on the repository as it is, and each of its
checks fails, with its one line, when the thing it guards is broken in a copy of the tree.

Run by bindings/tests/run.sh: .venv/bin/python -m pytest scripts/test_check_mobile.py
"""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COPIED = [
    "android",
    "ios",
    "scripts/check-mobile.sh",
    "scripts/build-android.sh",
    "scripts/build-ios.sh",
    "scripts/bindgen-common.sh",
    "bindings/tests/kotlin/run.sh",
]
# Written by the builds (gitignored); not needed by the check.
IGNORED = shutil.ignore_patterns(
    "build", ".gradle", ".kotlin", "jniLibs", "assets", "Sources", "*.xcframework",
    "Resources", "*.xcodeproj", "Generated", "local.properties",
)
GENERATED_SWIFT = "// generated\nnonisolated(unsafe) static let vtable = 0\n"


def copy_tree(tmp: Path) -> Path:
    root = tmp / "repo"
    for rel in COPIED:
        src, dst = REPO / rel, root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, symlinks=True, ignore=IGNORED)
        else:
            shutil.copy2(src, dst)
    (tmp / "OmniFFI.swift").write_text(GENERATED_SWIFT)
    return root


def run_check(root: Path, swift: Path, env=None):
    return subprocess.run(
        ["bash", str(root / "scripts/check-mobile.sh"), str(root), str(swift)],
        capture_output=True, text=True, timeout=300, env=env,
    )


def replace(root: Path, rel: str, old: str, new: str, count: int = 1):
    path = root / rel
    text = path.read_text()
    assert old in text, f"{rel} no longer contains {old!r}: update the test"
    path.write_text(text.replace(old, new, count))


def test_the_repository_passes(tmp_path):
    result = run_check(copy_tree(tmp_path), tmp_path / "OmniFFI.swift")
    assert result.returncode == 0, result.stderr
    assert "check-mobile: all checks passed" in result.stdout


A = "android"
S = "android/sample/src/main/java/com/omniinspector/sample"
PROPS = "android/gradle/wrapper/gradle-wrapper.properties"
I = "ios/Sample"

# (id, file, old text, new text, what the one FAIL line must say)
EDITS = [
    ("distribution checksum", PROPS, "distributionSha256Sum=acd5", "distributionSha256Sum=bcd5",
     "distributionSha256Sum is not Gradle's published checksum"),
    ("unknown Gradle", PROPS, "gradle-9.7.1-bin.zip", "gradle-9.8.0-bin.zip",
     "Gradle 9.8.0: no published checksum recorded"),
    ("unofficial distribution", PROPS, "https\\://services.gradle.org/distributions/", "https\\://example.org/",
     "distributionUrl is not an official"),
    ("url validation off", PROPS, "validateDistributionUrl=true", "validateDistributionUrl=false",
     "validateDistributionUrl=true is missing"),
    ("gradlew runs no jar", "android/gradlew", "gradle/wrapper/gradle-wrapper.jar", "gradle/wrapper/other.jar",
     "does not run gradle/wrapper/gradle-wrapper.jar"),
    ("no JDK pin", "android/gradle/gradle-daemon-jvm.properties", "toolchainVersion=17", "",
     "no toolchainVersion"),
    ("JDK pin differs from the modules", "android/gradle/gradle-daemon-jvm.properties", "toolchainVersion=17",
     "toolchainVersion=21", "is not JavaVersion.VERSION_21"),
    ("two AGP versions", "android/build.gradle.kts", 'library") version "9.5.1"', 'library") version "9.5.0"',
     "must have one AGP version"),
    ("AGP minimum Gradle unknown", "android/build.gradle.kts", '"9.5.1" apply false\n    id("com.android.library") version "9.5.1"',
     '"9.6.0" apply false\n    id("com.android.library") version "9.6.0"', "its minimum Gradle is not recorded"),
    ("AGP needs a newer Gradle", "scripts/check-mobile.sh", "[9.5]=9.6.0", "[9.5]=9.8.0",
     "AGP 9.5.1 needs Gradle 9.8.0+, the wrapper has 9.7.1"),
    ("kotlin-android applied", "android/omni/build.gradle.kts", 'id("com.android.library")',
     'id("com.android.library")\n    id("org.jetbrains.kotlin.android")', "applies org.jetbrains.kotlin.android"),
    ("Kotlin compiler not chosen", "android/build.gradle.kts", '    id("org.jetbrains.kotlin.android") version "2.4.20" apply false\n', "",
     "the Kotlin Gradle plugin is not declared"),
    ("Kotlin differs from the JVM tests", "android/build.gradle.kts", '"2.4.20" apply false', '"2.4.21" apply false',
     "the JVM tests must use the app's compiler"),
    ("compileSdk differs", "android/omni/build.gradle.kts", "compileSdk = 37", "compileSdk = 36",
     "compileSdk differs between omni"),
    ("targetSdk below Play", "android/sample/build.gradle.kts", "targetSdk = 36", "targetSdk = 35",
     "below Google Play's required 36"),
    ("targetSdk above compileSdk", "android/sample/build.gradle.kts", "targetSdk = 36", "targetSdk = 38",
     "targetSdk 38 is above compileSdk 37"),
    ("no edge-to-edge", f"{S}/MainActivity.kt", "        enableEdgeToEdge()\n", "",
     "does not handle edge-to-edge"),
    ("old JNA", "android/omni/build.gradle.kts", "jna:5.18.1@aar", "jna:5.17.0@aar", "JNA 5.17.0 is below 5.18.1"),
    ("README names another JNA", "android/README.md", "`jna:5.18.1@aar`", "`jna:5.17.0@aar`",
     "android/README.md names JNA 5.17.0"),
    ("backup allowed", "android/sample/src/main/AndroidManifest.xml", 'allowBackup="false"', 'allowBackup="true"',
     "allowBackup is not false"),
    ("no extraction rules", "android/sample/src/main/AndroidManifest.xml",
     '        android:dataExtractionRules="@xml/data_extraction_rules"\n', "", "no dataExtractionRules"),
    ("no full-backup rules", "android/sample/src/main/AndroidManifest.xml",
     '        android:fullBackupContent="@xml/backup_rules"\n', "", "no fullBackupContent"),
    ("device transfer copies the data", "android/sample/src/main/res/xml/data_extraction_rules.xml",
     '<device-transfer>\n        <exclude domain="file" path="omni" />', "<device-transfer>",
     "<device-transfer> does not exclude the data directory"),
    ("full backup copies the data", "android/sample/src/main/res/xml/backup_rules.xml",
     'path="omni"', 'path="other"', "backup_rules.xml does not exclude"),
    ("data directory renamed", f"{S}/OmniApp.kt", 'File(filesDir, "omni")', 'File(filesDir, "queue")',
     "does not exclude the data directory filesDir/queue"),
    ("panic not caught", f"{S}/CoreCalls.kt", "catch (e: InternalException)", "catch (e: IllegalStateException)",
     "does not catch InternalException"),
    ("screen catches only OmniException", f"{S}/MainActivity.kt", "    private fun showStatus(line: String) {",
     "    private fun old() = try { } catch (e: OmniException) { }\n\n    private fun showStatus(line: String) {",
     "MainActivity.kt catches OmniException itself"),
    ("no startSync on Android", f"{S}/MainActivity.kt", "opened.startSync()", "opened.stats()",
     "MainActivity.kt never calls startSync()"),
    ("log sink on the main thread", f"{S}/OmniApp.kt", "        core.start()\n",
     "        setLogSink(Logcat, LogLevel.INFO)\n        core.start()\n", "OmniApp.onCreate calls setLogSink"),
    ("Android import in plain Kotlin", f"{S}/Describe.kt", "import java.util.Locale",
     "import java.util.Locale\nimport android.util.Log", "imports Android"),
    ("readelf lookup ignores links", "scripts/build-android.sh", 'find -L "$1/toolchains', 'find "$1/toolchains',
     "does not find the NDK's llvm-readelf symbolic link"),
    ("missing readelf skipped", "scripts/build-android.sh", '[ -n "$found" ] && [ -x "$found" ] \\\n    || die',
     '[ -n "$found" ] && [ -x "$found" ] \\\n    || return 0; false && die', "succeeds without llvm-readelf"),
    ("4 KB pages accepted", "scripts/build-android.sh", '$NF != "0x4000"', '$NF == "0x0"',
     "accepts 4 KB aligned LOAD segments"),
    ("16 KB pages refused", "scripts/build-android.sh", '$NF != "0x4000"', '$NF != "0x10000"',
     "refuses a library whose LOAD segments are 16 KB aligned"),
    ("old Swift tools", "ios/Package.swift", "swift-tools-version:5.10", "swift-tools-version:5.9",
     "swift-tools-version 5.9, the generated Swift needs 5.10"),
    ("Xcode floor undocumented", "ios/README.md", "Xcode 15.3 or newer", "Xcode 15 or newer",
     "does not state the Xcode 15.3 floor"),
    ("binary target file named otherwise", "ios/Package.swift", 'path: "OmniFFIFramework.xcframework"',
     'path: "OmniFFI.xcframework"', "the file must be OmniFFIFramework.xcframework"),
    ("script writes another XCFramework", "scripts/build-ios.sh", "XCFRAMEWORK=ios/OmniFFIFramework.xcframework",
     "XCFRAMEWORK=ios/OmniFFI.xcframework", "build-ios.sh writes ios/OmniFFI.xcframework"),
    ("XCFramework not ignored", "ios/.gitignore", "/OmniFFIFramework.xcframework/\n", "",
     "does not ignore /OmniFFIFramework.xcframework/"),
    ("no x86_64 simulator slice", "scripts/build-ios.sh", "SIMULATOR_TARGETS=(aarch64-apple-ios-sim x86_64-apple-ios)",
     "SIMULATOR_TARGETS=(aarch64-apple-ios-sim)", "build-ios.sh lacks x86_64-apple-ios"),
    ("simulator slices not joined", "scripts/build-ios.sh", 'lipo -create "${sim_inputs[@]}"', 'cp "${sim_inputs[0]}"',
     "does not lipo the simulator slices"),
    ("README's rustup line short", "ios/README.md", "aarch64-apple-ios-sim x86_64-apple-ios   # once",
     "aarch64-apple-ios-sim   # once", "rustup target add line lacks x86_64-apple-ios"),
    ("no camera usage text", "ios/project.yml", "        NSCameraUsageDescription: Photograph containers for inspection.\n", "",
     "no NSCameraUsageDescription"),
    ("no background mode", "ios/project.yml", "UIBackgroundModes: [processing]", "UIBackgroundModes: [fetch]",
     "UIBackgroundModes lacks processing"),
    ("task identifier differs", f"{I}/BackgroundSync.swift", 'identifier = "com.omniinspector.sample.sync"',
     'identifier = "com.omniinspector.sample.refresh"', "lacks com.omniinspector.sample.refresh"),
    ("package product not linked", "ios/project.yml", "product: OmniFFI", "product: Other",
     "does not link the OmniFFI product"),
    ("deployment targets differ", "ios/project.yml", 'iOS: "15.0"', 'iOS: "16.0"',
     "deployment target differs from Package.swift's iOS 15"),
    ("script's deployment target differs", "scripts/build-ios.sh", "IPHONEOS_DEPLOYMENT_TARGET=15.0",
     "IPHONEOS_DEPLOYMENT_TARGET=16.0", "IPHONEOS_DEPLOYMENT_TARGET differs"),
    ("no startSync on iOS", f"{I}/AppModel.swift", "sync = try core.startSync()", "sync = nil",
     "AppModel.swift never calls startSync()"),
    ("data directory backed up", f"{I}/CoreStore.swift", "isExcludedFromBackup = true", "isExcludedFromBackup = false",
     "does not exclude the data directory from backup"),
    ("Android face not passed", f"{S}/MainActivity.kt", "capturedAtMs, face)", "capturedAtMs)",
     "does not pass the picked face to addPhoto"),
    ("Android face missing", f"{S}/MainActivity.kt", '"I", "X")', '"X")', "FACE_LETTERS is not the eight"),
    ("Android face label missing", "android/sample/src/main/res/values/strings.xml", "        <item>Roof (T)</item>\n", "",
     "the faces array has 7 items"),
    ("iOS face not passed", f"{I}/AppModel.swift", "capturedAtMs: capturedAtMs, face: face)", "capturedAtMs: capturedAtMs)",
     "AppModel.swift does not pass the picked face"),
    ("iOS face missing", f"{I}/AppModel.swift", 'ContainerFace(letter: "U", name: "Understructure"),', "",
     "the face picker lacks face U"),
    ("deprecated onChange", f"{I}/ContentView.swift", "        .task { await model.start() }\n",
     "        .task { await model.start() }\n        .onChange(of: model.busy) { _ in }\n", "onChange(of:perform:)"),
    ("deprecated orientation only", f"{I}/Camera.swift", "connection.videoRotationAngle = 90", "connection.videoOrientation = .portrait",
     "does not use videoRotationAngle"),
    ("try on a call that cannot throw", f"{I}/NetworkWatcher.swift", "core.setOnline(", "try? core.setOnline(",
     "try on a core call that cannot throw"),
    ("log sink main-actor isolated", f"{I}/CoreStore.swift", "nonisolated final class UnifiedLog", "final class UnifiedLog",
     "'final class UnifiedLog' is not nonisolated"),
    ("weak self inside a Sendable closure", f"{I}/Camera.swift", "guard let self else { return }\n                    self.queue.async { self.inFlight[id] = nil }",
     "self?.queue.async { self?.inFlight[id] = nil }", "reaches the weak self capture"),
]


def fails(tmp_path, root: Path, swift: str = "OmniFFI.swift", env=None):
    """Runs the check on `root` and asserts that it fails; returns the result."""
    result = run_check(root, tmp_path / swift, env=env)
    assert result.returncode == 1, f"the check passed\n{result.stdout}"
    return result


@pytest.mark.parametrize("name,rel,old,new,message", EDITS, ids=[e[0] for e in EDITS])
def test_each_check_fails(tmp_path, name, rel, old, new, message):
    root = copy_tree(tmp_path)
    replace(root, rel, old, new)
    result = fails(tmp_path, root)
    fail_lines = [line for line in result.stderr.splitlines() if line.startswith("check-mobile: FAIL ")]
    assert len(fail_lines) == 1 and message in fail_lines[0], result.stderr


def test_wrapper_jar_checksum(tmp_path):
    root = copy_tree(tmp_path)
    jar = root / A / "gradle/wrapper/gradle-wrapper.jar"
    jar.write_bytes(jar.read_bytes() + b"\0")
    assert "differs from Gradle's published wrapper jar checksum" in fails(tmp_path, root).stderr


def test_gradlew_not_executable(tmp_path):
    root = copy_tree(tmp_path)
    gradlew = root / A / "gradlew"
    gradlew.chmod(gradlew.stat().st_mode & ~(stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
    assert "android/gradlew is missing or not executable" in fails(tmp_path, root).stderr


def test_wrapper_that_does_not_verify(tmp_path):
    # A `java` that runs nothing stands for a wrapper jar that does not check the distribution.
    root = copy_tree(tmp_path)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "java").write_text("#!/bin/sh\nexit 0\n")
    (fake / "java").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = f"{fake}:{env['PATH']}"
    result = fails(tmp_path, root, env=env)
    assert "did not refuse a distribution with the wrong checksum" in result.stderr


def test_generated_swift_missing(tmp_path):
    result = fails(tmp_path, copy_tree(tmp_path), swift="absent.swift")
    assert "(the generated Swift) is missing or empty" in result.stderr


def test_shell_scripts_are_strict():
    for rel in ["scripts/check-mobile.sh", "scripts/build-android.sh", "scripts/build-ios.sh",
                "bindings/tests/kotlin/run.sh"]:
        assert "set -euo pipefail" in (REPO / rel).read_text(), rel
        subprocess.run(["bash", "-n", str(REPO / rel)], check=True)
