pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "omni-inspector-android"

// omni: the Android library (generated Kotlin bindings + libomni_ffi.so per ABI).
// sample: a small app using it.
include(":omni", ":sample")
