plugins {
    // Kotlin is compiled by AGP itself (built-in Kotlin, AGP 9+).
    id("com.android.library")
}

android {
    namespace = "com.omniinspector.omni"
    // The same as the sample's: AGP 9 refuses a library compiled against a newer SDK than its app.
    compileSdk = 37

    defaultConfig {
        minSdk = 26
        // Applied by the consuming app's R8: keeps JNA and the generated bindings.
        consumerProguardFiles("consumer-rules.pro")
    }

    // Both written by scripts/build-android.sh (gitignored) into AGP's default directories:
    // src/main/kotlin/com/omniinspector/ffi/omni_ffi.kt and src/main/jniLibs/<abi>/libomni_ffi.so.

    compileOptions {
        // Kotlin's jvmTarget follows targetCompatibility with built-in Kotlin.
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

dependencies {
    // "@aar": JNA's Android packaging, with libjnidispatch.so for every ABI. 5.18.1 fixes the
    // Structure.sortFields race (seen crashing UniFFI async foreign callbacks, the path the
    // async CredentialsProvider takes) and the deadlock that 5.16 introduced.
    api("net.java.dev.jna:jna:5.18.1@aar")
    // The generated code implements async calls and async foreign traits with coroutines.
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.11.0")
    // Used by the generated object cleaner when bindings/uniffi.toml sets android = true.
    implementation("androidx.annotation:annotation:1.11.0")
}

// A missing generated file would otherwise surface as dozens of "unresolved reference" errors.
tasks.named("preBuild") {
    val bindings = file("src/main/kotlin/com/omniinspector/ffi")
    val library = file("src/main/jniLibs/arm64-v8a/libomni_ffi.so")
    doFirst {
        check(bindings.isDirectory && library.isFile) {
            "Generated bindings or libomni_ffi.so missing: run scripts/build-android.sh first"
        }
    }
}
