import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "com.omniinspector.omni"
    compileSdk = 35

    defaultConfig {
        minSdk = 26
        // Applied by the consuming app's R8: keeps JNA and the generated bindings.
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets {
        getByName("main") {
            // Both written by scripts/build-android.sh (gitignored):
            // com/omniinspector/ffi/omni_ffi.kt and <abi>/libomni_ffi.so.
            java.srcDir("src/main/kotlin")
            jniLibs.srcDir("src/main/jniLibs")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

dependencies {
    // "@aar": JNA's Android packaging, with libjnidispatch.so for every ABI.
    api("net.java.dev.jna:jna:5.17.0@aar")
    // The generated code implements async calls and async foreign traits with coroutines.
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
    // Used by the generated object cleaner when bindings/uniffi.toml sets android = true.
    implementation("androidx.annotation:annotation:1.9.1")
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
