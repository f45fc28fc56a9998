plugins {
    // Kotlin is compiled by AGP itself (built-in Kotlin, AGP 9+).
    id("com.android.application")
}

android {
    namespace = "com.omniinspector.sample"
    compileSdk = 37

    defaultConfig {
        applicationId = "com.omniinspector.sample"
        minSdk = 26
        // Google Play: new apps and updates target API 36 (Android 16) from 31 August 2026.
        // From 35 on the app draws edge to edge; MainActivity applies the system bar insets.
        targetSdk = 36
        versionCode = 1
        versionName = "0.1.0"
        // The ABIs scripts/build-android.sh builds; JNA ships more, which would only be dead weight.
        ndk {
            abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64")
        }
    }

    buildTypes {
        release {
            // Exercises the omni module's consumer R8 rules (JNA, generated bindings).
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"))
            // Debug key so a release build installs locally; use your own signing config to ship.
            signingConfig = signingConfigs.getByName("debug")
        }
    }

    packaging {
        // Native libraries stored uncompressed and page-aligned in the APK (AGP 8.5.1+ aligns to
        // 16 KB), loaded in place: needed for Android 15 devices with 16 KB pages.
        jniLibs.useLegacyPackaging = false
    }

    compileOptions {
        // Kotlin's jvmTarget follows targetCompatibility with built-in Kotlin.
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

dependencies {
    implementation(project(":omni"))

    implementation("androidx.activity:activity-ktx:1.13.0")
    implementation("androidx.core:core-ktx:1.19.1")
    implementation("androidx.lifecycle:lifecycle-runtime-ktx:2.10.0")
    implementation("androidx.work:work-runtime-ktx:2.12.0")

    val camerax = "1.6.1"
    implementation("androidx.camera:camera-core:$camerax")
    implementation("androidx.camera:camera-camera2:$camerax")
    implementation("androidx.camera:camera-lifecycle:$camerax")
    implementation("androidx.camera:camera-view:$camerax")
}
